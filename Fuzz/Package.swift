// swift-tools-version:6.2
// libFuzzer targets for labelcast. A package of its own, so the main package's `swift build` and
// `swift test` never build them. Build and run with ./run.sh (see README.md): the targets only
// link with `-sanitize=fuzzer`, which supplies `main`.
import PackageDescription

// A path dependency is identified by its directory's name (`main` in /work/main, `labelcast` in
// a fresh clone), so take it from where this manifest lives.
let parent = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "labelcast"

let package = Package(
    name: "labelcast-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        // `main` for SwiftPM's debug link, handing over to libFuzzer's driver (see FuzzEntry.c).
        .target(name: "FuzzEntry", path: "Sources/FuzzEntry"),
        // Public API only: `--segments` / `--segments-file` parsing, validation, the timeline.
        .executableTarget(
            name: "fuzz-segment-schedule",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent)],
            path: "Sources/FuzzSegmentSchedule"
        ),
        // `@testable import Labelcast` (the control server is internal): needs the main package
        // built with testability, which SwiftPM's debug configuration turns on.
        .executableTarget(
            name: "fuzz-control-body",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent)],
            path: "Sources/FuzzControlBody"
        ),
        // Public API only: WatermarkDetector on arbitrary float audio.
        .executableTarget(
            name: "fuzz-watermark-detector",
            dependencies: ["FuzzEntry", .product(name: "AudioMark", package: parent)],
            path: "Sources/FuzzWatermarkDetector"
        ),
        // `@testable import Labelcast`: the parsers `labelcast inspect` runs on hostile input.
        // GB 45438 Appendix E check of an AIGC value, its layer and report.
        .executableTarget(
            name: "fuzz-aigc-value",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent), .product(name: "MediaIO", package: parent)],
            path: "Sources/FuzzAIGCValue"
        ),
        // TimedID3.textValue on timed_id3 packets / emsg data, and its round trip.
        .executableTarget(
            name: "fuzz-timed-id3",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent), .product(name: "MediaIO", package: parent)],
            path: "Sources/FuzzTimedID3"
        ),
        // the C2PA manifest store JSON read into the report.
        .executableTarget(
            name: "fuzz-c2pa-report",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent), .product(name: "MediaIO", package: parent)],
            path: "Sources/FuzzC2PAReport"
        ),
        // HLS playlists and their AIGC date ranges.
        .executableTarget(
            name: "fuzz-hls-playlist",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent), .product(name: "MediaIO", package: parent)],
            path: "Sources/FuzzHLSPlaylist"
        ),
        // ISO BMFF boxes, emsg, and the RIFF AIGC chunk, from raw bytes.
        .executableTarget(
            name: "fuzz-media-boxes",
            dependencies: ["FuzzEntry", .product(name: "Labelcast", package: parent), .product(name: "MediaIO", package: parent)],
            path: "Sources/FuzzMediaBoxes"
        ),
    ]
)
