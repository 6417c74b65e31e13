// Plain Kotlin on the JVM, no Android imports: the app depends on it, and it is compiled and
// tested off-device too (tools/android_core_test.sh does the same with Debian's kotlinc 1.3,
// so the sources stay within the Kotlin 1.3 language and standard library).
plugins {
    alias(libs.plugins.kotlin.jvm)
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

kotlin {
    compilerOptions {
        jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17)
    }
}

dependencies {
    testImplementation(libs.junit)
}

tasks.test {
    systemProperty("edgevision.golden", file("src/test/resources/golden").absolutePath)
}
