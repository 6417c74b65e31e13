package dev.edgevision.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.fail
import org.junit.Test

class JsonTest {
    @Test
    fun parsesWhatPythonsJsonDumpsWrites() {
        val v = Json.parse("""{"a": [1, -2.5, 1e3, true, false, null], "s": "caf\u00e9 \"q\" \\ \n", "o": {}}""") as Map<*, *>
        assertEquals(listOf(1L, -2.5, 1000.0, true, false, null), v["a"])
        assertEquals("café \"q\" \\ \n", v["s"])
        assertEquals(emptyMap<String, Any?>(), v["o"])
        assertEquals(listOf("a", "s", "o"), v.keys.toList())
    }

    @Test
    fun keepsLargeAndNegativeIntegers() {
        assertEquals(listOf(-128L, 0L, 9007199254740993L), Json.parse("[-128, 0, 9007199254740993]"))
        assertNull(Json.parse(" null "))
    }

    @Test
    fun rejectsWhatIsNotStrictJson() {
        val bad = listOf(
            "", "{", "[1,]", "{\"a\":1,}", "{'a': 1}", "[NaN]", "[01]", "[1.]", "[.5]", "{\"a\" 1}",
            "[1] x", "{\"a\":1,\"a\":2}", "\"tab\there\"", "[\"\\x\"]", "// c\n1", "tru", "[1e]"
        )
        for (text in bad) {
            try {
                Json.parse(text)
                fail("accepted invalid JSON: $text")
            } catch (e: JsonException) {
                assert(e.message!!.contains("offset")) { "message without offset: ${e.message}" }
            }
        }
    }
}
