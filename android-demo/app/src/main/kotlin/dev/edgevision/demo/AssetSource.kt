package dev.edgevision.demo

import android.content.res.AssetManager
import dev.edgevision.core.BundleSource
import java.io.FileNotFoundException

/** The bundle files `tools/android_bundle.py` copied into `app/src/main/assets/`. */
class AssetSource(private val assets: AssetManager) : BundleSource {
    override fun read(name: String): ByteArray? = try {
        assets.open(name).use { it.readBytes() }
    } catch (e: FileNotFoundException) {
        null
    }
}
