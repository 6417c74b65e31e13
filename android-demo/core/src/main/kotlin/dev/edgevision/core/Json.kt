package dev.edgevision.core

/**
 * A small, strict JSON reader (RFC 8259) for sidecars and golden files.
 *
 * Objects become `Map<String, Any?>` (insertion order kept), arrays `List<Any?>`, numbers
 * `Long` when written without fraction or exponent and `Double` otherwise, plus `String`,
 * `Boolean` and `null`. Anything else (trailing commas, comments, NaN, single quotes,
 * duplicate keys, text after the value) is a [JsonException] naming the offset.
 */
class JsonException(message: String) : Exception(message)

object Json {
    fun parse(text: String): Any? {
        val reader = Reader(text)
        reader.skipWhitespace()
        val value = reader.readValue()
        reader.skipWhitespace()
        if (!reader.atEnd()) throw reader.error("unexpected text after the JSON value")
        return value
    }

    private class Reader(val text: String) {
        var pos = 0

        fun atEnd() = pos >= text.length

        fun error(what: String) = JsonException("$what at offset $pos")

        fun skipWhitespace() {
            while (pos < text.length) {
                val c = text[pos]
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++ else return
            }
        }

        fun readValue(): Any? {
            if (atEnd()) throw error("unexpected end of input")
            return when (text[pos]) {
                '{' -> readObject()
                '[' -> readArray()
                '"' -> readString()
                't' -> readLiteral("true", true)
                'f' -> readLiteral("false", false)
                'n' -> readLiteral("null", null)
                else -> readNumber()
            }
        }

        private fun readLiteral(word: String, value: Any?): Any? {
            if (!text.startsWith(word, pos)) throw error("unexpected character '${text[pos]}'")
            pos += word.length
            return value
        }

        private fun expect(c: Char) {
            if (atEnd() || text[pos] != c) throw error("expected '$c'")
            pos++
        }

        private fun readObject(): Map<String, Any?> {
            expect('{')
            val result = LinkedHashMap<String, Any?>()
            skipWhitespace()
            if (!atEnd() && text[pos] == '}') {
                pos++
                return result
            }
            while (true) {
                skipWhitespace()
                if (atEnd() || text[pos] != '"') throw error("expected a string key")
                val key = readString()
                if (result.containsKey(key)) throw error("duplicate key \"$key\"")
                skipWhitespace()
                expect(':')
                skipWhitespace()
                result[key] = readValue()
                skipWhitespace()
                if (atEnd()) throw error("unterminated object")
                when (text[pos]) {
                    ',' -> pos++
                    '}' -> { pos++; return result }
                    else -> throw error("expected ',' or '}'")
                }
            }
        }

        private fun readArray(): List<Any?> {
            expect('[')
            val result = ArrayList<Any?>()
            skipWhitespace()
            if (!atEnd() && text[pos] == ']') {
                pos++
                return result
            }
            while (true) {
                skipWhitespace()
                result.add(readValue())
                skipWhitespace()
                if (atEnd()) throw error("unterminated array")
                when (text[pos]) {
                    ',' -> pos++
                    ']' -> { pos++; return result }
                    else -> throw error("expected ',' or ']'")
                }
            }
        }

        private fun readString(): String {
            expect('"')
            val out = StringBuilder()
            while (true) {
                if (atEnd()) throw error("unterminated string")
                val c = text[pos++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (atEnd()) throw error("unterminated escape")
                        when (val e = text[pos++]) {
                            '"' -> out.append('"')
                            '\\' -> out.append('\\')
                            '/' -> out.append('/')
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (pos + 4 > text.length) throw error("short \\u escape")
                                val hex = text.substring(pos, pos + 4)
                                if (!hex.all { isHexDigit(it) }) throw error("bad \\u escape \"$hex\"")
                                out.append(Integer.parseInt(hex, 16).toChar())
                                pos += 4
                            }
                            else -> throw error("bad escape '\\$e'")
                        }
                    }
                    c < ' ' -> throw error("control character in string")
                    else -> out.append(c)
                }
            }
        }

        private fun readNumber(): Any {
            val start = pos
            if (pos < text.length && text[pos] == '-') pos++
            if (atEnd() || !isDigit(text[pos])) throw error("unexpected character '${if (atEnd()) ' ' else text[pos]}'")
            if (text[pos] == '0') {
                pos++
                if (!atEnd() && isDigit(text[pos])) throw error("leading zero in number")
            } else {
                while (!atEnd() && isDigit(text[pos])) pos++
            }
            var integral = true
            if (!atEnd() && text[pos] == '.') {
                integral = false
                pos++
                if (atEnd() || !isDigit(text[pos])) throw error("digit expected after '.'")
                while (!atEnd() && isDigit(text[pos])) pos++
            }
            if (!atEnd() && (text[pos] == 'e' || text[pos] == 'E')) {
                integral = false
                pos++
                if (!atEnd() && (text[pos] == '+' || text[pos] == '-')) pos++
                if (atEnd() || !isDigit(text[pos])) throw error("digit expected in exponent")
                while (!atEnd() && isDigit(text[pos])) pos++
            }
            val literal = text.substring(start, pos)
            if (integral) {
                try {
                    return literal.toLong()
                } catch (e: NumberFormatException) {
                    // Too large for a Long: fall through to Double.
                }
            }
            return literal.toDouble()
        }

        private fun isDigit(c: Char) = c in '0'..'9'

        private fun isHexDigit(c: Char) = c in '0'..'9' || c in 'a'..'f' || c in 'A'..'F'
    }
}
