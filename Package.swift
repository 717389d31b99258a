// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "labelcast",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "labelcast", targets: ["labelcast"]),
        .library(name: "Labelcast", targets: ["Labelcast"]),
        .library(name: "AudioMark", targets: ["AudioMark"]),
        .library(name: "VideoMark", targets: ["VideoMark"]),
        .library(name: "Overlay", targets: ["Overlay"]),
        .library(name: "MediaIO", targets: ["MediaIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // FFmpeg 5.1 (Debian's -dev packages) through pkg-config; the modulemap links every library.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]
        ),
        // FreeType + fontconfig for the visible label.
        .systemLibrary(
            name: "CFreeType",
            pkgConfig: "freetype2",
            providers: [.apt(["libfreetype-dev", "libfontconfig-dev"])]
        ),
        // librsvg + cairo for the operator's badge (`--label-image`, SVG and PNG).
        .systemLibrary(name: "CRsvg", pkgConfig: "librsvg-2.0", providers: [.apt(["librsvg2-dev"])]),
        // eSpeak NG for the spoken audio label (`--audible-cue voice`).
        .systemLibrary(name: "CEspeakNG", pkgConfig: "espeak-ng", providers: [.apt(["libespeak-ng-dev"])]),
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),
        // What the audio and video marks share: key derivation (HMAC-SHA256), the keyed
        // generator, the convolutional code and its Viterbi decoder.
        .target(name: "MarkCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "AudioMark", dependencies: ["MarkCore"]),
        // The invisible video mark: pure Swift over luma planes, keyed by AudioMark's WatermarkKey.
        .target(name: "VideoMark", dependencies: ["AudioMark", "MarkCore"]),
        .target(name: "Overlay", dependencies: ["CFreeType", "CRsvg"]),
        // C2PA signing through the reference implementation's C library, loaded at run time
        // (dlopen): the build does not need it; `make deps` installs it under .deps/c2pa.
        // swift-crypto: SHA-256 of fragmented-MP4 segments (FragmentedBMFF), which the C API cannot hash.
        .target(name: "C2PA", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Labelcast",
            dependencies: [
                "MediaIO", "AudioMark", "Overlay", "VideoMark", "CEspeakNG", "C2PA",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "labelcast",
            dependencies: [
                "Labelcast", "Overlay", "AudioMark", "VideoMark",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Plain executable for the watermark's robustness sweep and DSP speed (Benchmarks/).
        .executableTarget(name: "audiomark-bench", dependencies: ["AudioMark"], path: "Benchmarks/AudioMarkBench"),
        // The video mark's sweep helper: embed/detect on raw frames from ffmpeg, speed (Benchmarks/).
        .executableTarget(name: "videomark-bench", dependencies: ["VideoMark", "AudioMark"], path: "Benchmarks/VideoMarkBench"),
        // Shared by the test targets: process runner, ffprobe oracle, generated media.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TestSupport"]),
        .testTarget(name: "MarkCoreTests", dependencies: ["MarkCore"]),
        .testTarget(name: "AudioMarkTests", dependencies: ["AudioMark", "MarkCore"]),
        .testTarget(name: "VideoMarkTests", dependencies: ["VideoMark", "AudioMark", "MarkCore"]),
        .testTarget(name: "OverlayTests", dependencies: ["Overlay"]),
        .testTarget(name: "LabelcastTests", dependencies: ["Labelcast", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Labelcast", "TestSupport"]),
    ]
)
