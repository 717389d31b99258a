import Foundation

/// Options labelcast does not have, caught before the parser sees them: ffmpeg's single-dash
/// ones (`-hls_time 4`, `-hwaccel cuda`, `-c:v libx264`) and unknown `--long` ones. A parser
/// left to itself reads `-hls_time` as the short flags `-h -l -s …`, finds `-h` and prints the
/// help with status 0, so a script that borrowed an ffmpeg command line got exit 0 and no
/// file. Each becomes one error line naming the option (and, for ffmpeg options labelcast has
/// another way to say, that way), with status 2.
enum ForeignOptions {
    /// labelcast's own short options (`run -i/-o/-f`, `demo -d`, `-q`, `-v`, `-h`).
    static let shortLetters: Set<Character> = ["i", "o", "f", "d", "q", "v", "h"]
    /// The short flags that may be run together (`-qv`).
    static let flagLetters: Set<Character> = ["q", "v"]

    /// The error for the first argument that is not a labelcast option, or nil.
    static func firstError(in arguments: [String]) -> String? {
        for (i, arg) in arguments.enumerated() {
            if arg == "--" { return nil }  // what follows is operands
            guard isForeignShort(arg) else { continue }
            let next = i + 1 < arguments.count ? arguments[i + 1] : nil
            return message(option: arg, value: next.flatMap { $0.hasPrefix("-") && !isNumber($0) ? nil : $0 })
        }
        return nil
    }

    /// A single-dash word that is neither a negative number, `-` (stdin/stdout), one of
    /// labelcast's short options nor a run of its short flags.
    static func isForeignShort(_ arg: String) -> Bool {
        guard arg.hasPrefix("-"), !arg.hasPrefix("--"), arg.count > 1, !isNumber(arg) else { return false }
        let letters = arg.dropFirst()
        if letters.count == 1, let c = letters.first, shortLetters.contains(c) { return false }
        if letters.allSatisfy(flagLetters.contains) { return false }
        return true
    }

    static func isNumber(_ s: String) -> Bool { Double(s) != nil }

    /// Options of ffmpeg's muxers that `--muxer-opt KEY=VALUE` passes through.
    static let muxerOptions: Set<String> = [
        "hls_time", "hls_list_size", "hls_segment_type", "hls_flags", "hls_playlist_type", "hls_segment_filename",
        "hls_init_time", "hls_fmp4_init_filename", "hls_start_number_source", "hls_base_url", "master_pl_name",
        "movflags", "frag_duration", "frag_size", "min_frag_duration", "seg_duration", "window_size", "extra_window_size",
        "use_template", "use_timeline", "streaming", "ldash", "lhls", "remove_at_exit", "adaptation_sets",
        "mpegts_service_id", "mpegts_pmt_start_pid", "mpegts_start_pid", "mpegts_flags", "pcr_period", "muxrate",
        "flvflags", "write_crc32", "cluster_time_limit", "live", "segment_time", "segment_format", "segment_list",
        "reset_timestamps", "fflags", "flush_packets", "muxdelay", "muxpreload", "rtmp_live", "pkt_size",
    ]

    /// labelcast's way for an ffmpeg option, or nil when it has none to offer.
    static func labelcastWay(option name: String, value: String?) -> String? {
        let v = value ?? "VALUE"
        switch name {
        case "c:v", "codec:v", "vcodec", "c:v:0": return "--video-codec \(value ?? "NAME")"
        case "c:a", "codec:a", "acodec", "c:a:0": return "--audio-codec \(value ?? "NAME")"
        case "c", "codec": return "--video-codec NAME and --audio-codec NAME"
        case "b:v", "vb": return "--video-bitrate \(value ?? "RATE")"
        case "b:a", "ab": return "--audio-bitrate \(value ?? "RATE")"
        case "crf": return "--crf \(value ?? "N")"
        case "preset": return "--preset \(value ?? "NAME")"
        case "g": return "--gop SECONDS (labelcast counts the keyframe interval in seconds, not frames)"
        case "re", "readrate": return "--realtime"
        case "y": return "nothing: labelcast replaces an existing output file once the run has finished; leave -y out"
        case "map": return "--map \(value ?? "SPEC")"
        case "an", "vn", "sn", "dn": return "--map to choose the streams"
        case "hwaccel", "hwaccel_device", "hwaccel_output_format", "init_hw_device", "filter_hw_device":
            return "nothing: labelcast decodes in software; leave -\(name) out"
        case "vf", "af", "filter:v", "filter:a", "filter_complex", "lavfi":
            return "nothing: labelcast runs no filter graph (filter with ffmpeg before or after it)"
        case "ss", "t", "to", "sseof":
            return "nothing: labelcast processes the whole input (cut with ffmpeg; --segments says which parts are synthetic)"
        case "loglevel", "hide_banner", "nostats", "stats", "nostdin", "report":
            return "-q/--quiet or -v/--verbose"
        case "ar", "ac", "r", "s", "pix_fmt", "sample_fmt":
            return "nothing: labelcast keeps the input's \(["ar": "sample rate", "ac": "channels", "r": "frame rate", "s": "picture size", "pix_fmt": "pixel format", "sample_fmt": "sample format"][name]!)"
        default:
            if muxerOptions.contains(name) || name.hasPrefix("hls_") || name.hasPrefix("dash_") || name.hasPrefix("mpegts_") {
                return "--muxer-opt \(name)=\(v)"
            }
            return nil
        }
    }

    /// The one-line error for `option` (as given, dashes included); `value` is the word after it.
    static func message(option: String, value: String?) -> String {
        let bare = String(option.drop(while: { $0 == "-" }))
        let parts = bare.split(separator: "=", maxSplits: 1).map(String.init)
        let name = parts.first ?? bare
        let given = parts.count == 2 ? parts[1] : value
        guard let way = labelcastWay(option: name, value: given) ?? labelcastWay(option: name.replacingOccurrences(of: "-", with: "_"), value: given) else {
            return "unknown option '\(option)': labelcast's options are --long ones besides -i, -o, -f, -q and -v (see labelcast run --help)"
        }
        if way.hasPrefix("nothing: ") { return "unknown option '\(option)' (an ffmpeg option): \(way.dropFirst(9))" }
        return "unknown option '\(option)' (an ffmpeg option): in labelcast, use \(way)"
    }

    /// The error for an unknown `--long` option the parser reported (its text names it in
    /// quotes: "Unknown option '--frobnicate'"), or nil when the parser's error is another.
    static func unknownOptionError(parserMessage text: String, arguments: [String]) -> String? {
        guard let r = text.range(of: "Unknown option '") else { return nil }
        let rest = text[r.upperBound...]
        guard let close = rest.firstIndex(of: "'") else { return nil }
        let option = String(rest[..<close])
        let value = arguments.firstIndex(of: option).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        return message(option: option, value: value.flatMap { $0.hasPrefix("-") && !isNumber($0) ? nil : $0 })
    }
}
