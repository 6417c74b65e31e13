package dev.edgevision.demo

import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF
import android.util.AttributeSet
import android.view.View
import dev.edgevision.core.FrameResult

/**
 * Boxes and labels over the camera preview. Results are in pixels of the upright analysis
 * frame; the preview shows the same frame scaled to fill the view (PreviewView's FILL_CENTER),
 * so the same scale and centring map one onto the other.
 */
class OverlayView(context: Context, attrs: AttributeSet?) : View(context, attrs) {
    private var result: FrameResult? = null
    private var imageWidth = 1
    private var imageHeight = 1
    private val box = Paint().apply { style = Paint.Style.STROKE; strokeWidth = 6f }
    private val textBackground = Paint().apply { style = Paint.Style.FILL }
    private val text = Paint().apply { color = Color.WHITE; textSize = 42f; isAntiAlias = true }
    private val rect = RectF()

    fun show(result: FrameResult, imageWidth: Int, imageHeight: Int) {
        this.result = result
        this.imageWidth = imageWidth
        this.imageHeight = imageHeight
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val r = result ?: return
        val scale = maxOf(width.toFloat() / imageWidth, height.toFloat() / imageHeight)
        val dx = (width - imageWidth * scale) / 2f
        val dy = (height - imageHeight * scale) / 2f
        for (d in r.detections) {
            val color = PALETTE[d.index % PALETTE.size]
            box.color = color
            rect.set(d.xmin * scale + dx, d.ymin * scale + dy, d.xmax * scale + dx, d.ymax * scale + dy)
            canvas.drawRect(rect, box)
            label(canvas, "${d.label} ${percent(d.score)}", rect.left, rect.top, color)
        }
        var y = height * 0.75f
        for (c in r.topK) {
            label(canvas, "${c.label} ${percent(c.score)}", 24f, y, Color.argb(170, 0, 0, 0))
            y += text.textSize * 1.4f
        }
    }

    private fun label(canvas: Canvas, s: String, x: Float, y: Float, color: Int) {
        val w = text.measureText(s)
        val top = maxOf(0f, y - text.textSize * 1.2f)
        textBackground.color = color
        canvas.drawRect(x, top, x + w + 16f, top + text.textSize * 1.2f, textBackground)
        canvas.drawText(s, x + 8f, top + text.textSize, text)
    }

    private fun percent(score: Float) = "${Math.round(score * 100)}%"

    companion object {
        private val PALETTE = intArrayOf(
            Color.rgb(230, 25, 75), Color.rgb(60, 180, 75), Color.rgb(255, 225, 25), Color.rgb(0, 130, 200),
            Color.rgb(245, 130, 48), Color.rgb(145, 30, 180), Color.rgb(70, 240, 240), Color.rgb(240, 50, 230)
        )
    }
}
