import CFFmpeg

/// Converts audio between sample formats, channel layouts and rates (libswresample).
/// Used from one serial queue.
public final class Resampler: @unchecked Sendable {
    private var context: OpaquePointer?
    public let outputFormat: AVSampleFormat
    public let outputRate: Int
    public let outputChannels: Int
    public let inputRate: Int
    public let inputChannels: Int
    public let inputFormat: AVSampleFormat

    /// Builds a converter from the input frame's layout to `channels` default layout at `rate`.
    /// When the input has the same channel count, its own layout is kept (no remixing).
    public init(inputFormat: AVSampleFormat, inputRate: Int, inputLayout: UnsafePointer<AVChannelLayout>,
                outputFormat: AVSampleFormat, outputRate: Int, outputChannels: Int) throws {
        var outLayout = AVChannelLayout()
        if Int(inputLayout.pointee.nb_channels) == outputChannels {
            try check(av_channel_layout_copy(&outLayout, inputLayout), "av_channel_layout_copy")
        } else {
            lc_channel_layout_default(&outLayout, Int32(outputChannels))
        }
        defer { av_channel_layout_uninit(&outLayout) }
        var ctx: OpaquePointer? = nil
        try check(swr_alloc_set_opts2(&ctx, &outLayout, outputFormat, Int32(outputRate),
                                      UnsafeMutablePointer(mutating: inputLayout), inputFormat, Int32(inputRate), 0, nil), "swr_alloc_set_opts2")
        try check(swr_init(ctx), "swr_init")
        context = ctx
        self.outputFormat = outputFormat
        self.outputRate = outputRate
        self.outputChannels = outputChannels
        self.inputRate = inputRate
        self.inputChannels = Int(inputLayout.pointee.nb_channels)
        self.inputFormat = inputFormat
    }
    deinit { swr_free(&context) }

    public func matches(_ frame: Frame) -> Bool {
        frame.sampleRate == inputRate && frame.channelCount == inputChannels && frame.sampleFormat == inputFormat
    }

    /// Samples buffered inside the resampler (filter delay), in output samples.
    public var delay: Int { Int(swr_get_delay(context, Int64(outputRate))) }

    /// Converts a frame (or, with nil, flushes what the resampler holds). Returns nil when no
    /// output is ready yet.
    public func convert(_ frame: Frame?) throws -> Frame? {
        let inSamples = frame?.sampleCount ?? 0
        let capacity = Int(swr_get_out_samples(context, Int32(inSamples))) + 32
        guard capacity > 0 else { return nil }
        let out = try Frame.audio(samples: capacity, format: outputFormat, channels: outputChannels, sampleRate: outputRate)
        let got: Int32
        if let frame {
            got = swr_convert(context, out.pointer.pointee.extended_data, Int32(capacity),
                              UnsafeMutablePointer(mutating: frame.pointer.pointee.extended_data).withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 1) { $0 },
                              Int32(inSamples))
        } else {
            got = swr_convert(context, out.pointer.pointee.extended_data, Int32(capacity), nil, 0)
        }
        try check(got, "swr_convert")
        if got == 0 { return nil }
        out.pointer.pointee.nb_samples = got
        return out
    }
}

/// A FIFO of audio samples, so an encoder gets exactly `frame_size` samples per frame
/// (AAC: 1024) whatever sizes the decoder produced.
public final class AudioFIFO: @unchecked Sendable {
    private let fifo: OpaquePointer
    public let format: AVSampleFormat
    public let channels: Int
    public let sampleRate: Int

    public init(format: AVSampleFormat, channels: Int, sampleRate: Int) throws {
        guard let f = av_audio_fifo_alloc(format, Int32(channels), 4096) else {
            throw MediaError(call: "av_audio_fifo_alloc", code: lc_averror_enomem())
        }
        fifo = f
        self.format = format; self.channels = channels; self.sampleRate = sampleRate
    }
    deinit { av_audio_fifo_free(fifo) }

    public var count: Int { Int(av_audio_fifo_size(fifo)) }

    /// Appends the frame's samples, leaving out its first `skipping` (a frame that overlaps
    /// what the FIFO already had).
    public func write(_ frame: Frame, skipping skip: Int = 0) throws {
        let n = frame.sampleCount - skip
        guard n > 0 else { return }
        let planar = av_sample_fmt_is_planar(format) != 0
        let planes = planar ? channels : 1
        let offset = skip * Int(av_get_bytes_per_sample(format)) * (planar ? 1 : channels)
        var data = (0..<planes).map { UnsafeMutableRawPointer(frame.pointer.pointee.extended_data![$0]!) + offset as UnsafeMutableRawPointer? }
        let r = data.withUnsafeMutableBufferPointer { av_audio_fifo_write(fifo, $0.baseAddress, Int32(n)) }
        try check(r, "av_audio_fifo_write")
    }

    /// Appends `samples` of digital silence (fills a gap in the input's timestamps).
    public func writeSilence(_ samples: Int) throws {
        guard samples > 0 else { return }
        let silence = try Frame.audio(samples: samples, format: format, channels: channels, sampleRate: sampleRate)
        try check(av_samples_set_silence(silence.pointer.pointee.extended_data, 0, Int32(samples), Int32(channels), format),
                  "av_samples_set_silence")
        try write(silence)
    }

    /// Reads up to `samples` into a new frame, or nil when empty.
    public func read(_ samples: Int) throws -> Frame? {
        let n = min(samples, count)
        guard n > 0 else { return nil }
        let frame = try Frame.audio(samples: n, format: format, channels: channels, sampleRate: sampleRate)
        let data = UnsafeMutableRawPointer(frame.pointer.pointee.extended_data!).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        try check(av_audio_fifo_read(fifo, data, Int32(n)), "av_audio_fifo_read")
        return frame
    }
}
