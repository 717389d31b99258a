import AudioMark
import MarkCore
import Testing
@testable import VideoMark

@Suite("VideoMark") struct VideoMarkTests {
    let payload = WatermarkPayload(synthetic: true, id: 0xC0FF_EE42)

    @Test("round trip: a 3 s panning 640x360 clip gives back the payload over the whole clip")
    func roundTrip() throws {
        let clip = try panningClip(width: 640, height: 360, fps: 30, seconds: 3, embedder: VideoMarkEmbedder(key: testKey, payload: payload))
        let detector = VideoMarkDetector(key: testKey)
        var found: [VideoMarkDetection] = []
        for f in clip { found += try feed(f.picture, detector, time: f.time) }
        found += detector.finish()
        #expect(found.count == 1)
        let d = try #require(found.first)
        #expect(d.payload == payload)
        #expect(d.start <= 0.5 && d.end >= 2.5, "range \(d)")
        #expect(d.confidence > 5)
    }

    @Test("static content: a still textured picture, marked, is read (the picture itself cancels)")
    func staticContent() throws {
        let still = Picture.texture(width: 480, height: 272, seed: 5)
        let e = VideoMarkEmbedder(key: testKey, payload: payload)
        let detector = VideoMarkDetector(key: testKey)
        for i in 0..<60 { try feed(try marked(still, e, time: Double(i) / 24), detector, time: Double(i) / 24) }
        #expect(detector.finish().map(\.payload) == [payload])
    }

    @Test("size and rate independence: marked at 1920x1080 30 fps, read at 640x360 25 fps")
    func sizeAndRate() throws {
        let e = VideoMarkEmbedder(key: testKey, payload: payload)
        let clip = try panningClip(width: 1920, height: 1080, fps: 30, seconds: 2.5, embedder: e)
        let detector = VideoMarkDetector(key: testKey)
        // 25 fps: the 30 fps frame shown at each 1/25 s tick; times on the new clock.
        var k = 0
        while Double(k) / 25 < 2.5 {
            let t = Double(k) / 25
            let src = clip[min(clip.count - 1, Int((t * 30).rounded(.down)))]
            try feed(src.picture.downscaled(by: 3), detector, time: t)
            k += 1
        }
        #expect(detector.finish().map(\.payload) == [payload])
    }

    @Test("wrong key and unmarked video: no detection, sync stays below presence")
    func wrongKeyAndUnmarked() throws {
        let clip = try panningClip(width: 480, height: 272, fps: 30, seconds: 4, embedder: VideoMarkEmbedder(key: testKey, payload: payload))
        let plain = try panningClip(width: 480, height: 272, fps: 30, seconds: 4, embedder: nil)
        let wrong = VideoMarkDetector(key: otherKey), unmarked = VideoMarkDetector(key: testKey), right = VideoMarkDetector(key: testKey)
        for (f, p) in zip(clip, plain) {
            try feed(f.picture, wrong, time: f.time)
            try feed(p.picture, unmarked, time: p.time)
            try feed(f.picture, right, time: f.time)
        }
        #expect(wrong.finish().isEmpty)
        #expect(unmarked.finish().isEmpty)
        #expect(right.finish().map(\.payload) == [payload])
        #expect(wrong.strongestSync < VideoMarkDetector.presenceThreshold)
        #expect(unmarked.strongestSync < VideoMarkDetector.presenceThreshold)
        #expect(right.strongestSync > VideoMarkDetector.presenceThreshold)
    }

    @Test("flat, black and smooth-gradient frames are left unchanged; textured ones stay above 42 dB")
    func flatAndBlack() throws {
        let e = VideoMarkEmbedder(key: testKey, payload: payload)
        var gradient = Picture(width: 640, height: 360)
        for y in 0..<360 { for x in 0..<640 { gradient.samples[y * 640 + x] = UInt16(16 + x * 219 / 640) } }
        for picture in [Picture(width: 640, height: 360, fill: 128), Picture(width: 640, height: 360, fill: 16), gradient] {
            for t in [0.0, 0.25, 1.3] {
                #expect(try marked(picture, e, time: t).samples == picture.samples)
            }
        }
        let textured = Picture.texture(width: 640, height: 360, seed: 3)
        let m = try marked(textured, e, time: 0.3)
        #expect(m.samples != textured.samples)
        #expect(m.psnr(textured) >= 42, "PSNR \(m.psnr(textured))")
        // The padding past the row end is never written.
        var (data, stride) = textured.bytes(padding: 24)
        try withPlane8(&data, width: 640, height: 360, stride: stride) { try e.mark($0, time: 0.3) }
        for y in 0..<360 { #expect(data[(y * stride + 640)..<((y + 1) * stride)].allSatisfy { $0 == 0xAB }) }
    }

    @Test("10-bit planes, low-bit (yuv420p10le) and high-bit (P010) words, round trip")
    func tenBit() throws {
        for msb in [false, true] {
            let e = VideoMarkEmbedder(key: testKey, payload: payload)
            let detector = VideoMarkDetector(key: testKey)
            let base = Picture.texture(width: 480 + 60, height: 272 + 30, maxValue: 1023)
            var maxChange = 0
            for i in 0..<60 {
                let t = Double(i) / 30
                let p = base.cropped(x: i, y: i / 2, width: 480, height: 272)
                var words = p.samples.map { msb ? ($0 << 6).littleEndian : $0.littleEndian }
                let flatBefore = words
                try words.withUnsafeMutableBytes { raw in
                    let plane = LumaPlane(base: raw.baseAddress!, width: 480, height: 272, stride: 960, bitDepth: 10, msbAligned: msb)
                    try e.mark(plane, time: t)
                    _ = try detector.process(plane, time: t)
                }
                for (a, b) in zip(words, flatBefore) {
                    let va = Int(UInt16(littleEndian: a) >> (msb ? 6 : 0)), vb = Int(UInt16(littleEndian: b) >> (msb ? 6 : 0))
                    maxChange = max(maxChange, abs(va - vb))
                    if msb { #expect(UInt16(littleEndian: a) & 0x3F == 0) }
                }
            }
            #expect(detector.finish().map(\.payload) == [payload])
            // The peak amplitude (5 levels of 8-bit = 20 of 10-bit), plus rounding, at most.
            #expect(maxChange > 0 && maxChange <= 21, "max change \(maxChange)")
        }
    }

    @Test("range edges: marked only from 1.5 s to 4.5 s of a 6 s clip; edges within 0.5 s")
    func rangeEdges() throws {
        let clip = try panningClip(width: 480, height: 272, fps: 30, seconds: 6, embedder: VideoMarkEmbedder(key: testKey, payload: payload),
                                   markedAt: { $0 >= 1.5 && $0 < 4.5 })
        let detector = VideoMarkDetector(key: testKey)
        var found: [VideoMarkDetection] = []
        for f in clip { found += try feed(f.picture, detector, time: f.time) }
        found += detector.finish()
        let d = try #require(found.first)
        #expect(found.count == 1)
        #expect(abs(d.start - 1.5) <= 0.5 && abs(d.end - 4.5) <= 0.5, "range \(d)")
    }

    @Test("bad planes are refused with what is wrong")
    func badPlanes() throws {
        var bytes = [UInt8](repeating: 0, count: 30 * 30)
        let e = VideoMarkEmbedder(key: testKey, payload: payload)
        #expect(throws: VideoMarkError.frameTooSmall(width: 30, height: 30)) {
            try withPlane8(&bytes, width: 30, height: 30, stride: 30) { try e.mark($0, time: 0) }
        }
        var big = [UInt8](repeating: 0, count: 200 * 200)
        #expect(throws: VideoMarkError.badStride(stride: 150, width: 200)) {
            try withPlane8(&big, width: 200, height: 150, stride: 150) { try e.mark($0, time: 0) }
        }
    }
}

@Suite("VideoPayloadCodec") struct VideoPayloadCodecTests {
    let codec = VideoPayloadCodec(key: VideoMarkKey(testKey))
    let payload = WatermarkPayload(synthetic: true, id: 0x1234_5678)

    func soft(_ coded: [UInt8]) -> [Float] { coded.map { $0 == 0 ? 1 : -1 } }

    @Test("decodes clean and with 10% of the coded bits flipped")
    func correctsErrors() {
        let coded = codec.encode(payload)
        #expect(coded.count == VideoPayloadCodec.codedBits)
        #expect(codec.decode(soft(coded)) == payload)
        var s = soft(coded)
        var g = KeyedGenerator(seed: [UInt8](repeating: 7, count: 32))
        for i in Array(0..<s.count).shuffled(using: &g).prefix(s.count / 10) { s[i] = -s[i] }
        #expect(codec.decode(s) == payload)
    }

    @Test("the tag rejects every single-bit corruption of payload or tag, and other keys' marks")
    func rejectsCorruption() {
        let info = codec.infoBits(payload)
        #expect(codec.payload(fromInfo: info) == payload)
        for i in 0..<info.count {
            var bad = info
            bad[i] ^= 1
            #expect(codec.payload(fromInfo: bad) == nil, "bit \(i)")
        }
        let other = VideoPayloadCodec(key: VideoMarkKey(otherKey))
        #expect(other.decode(soft(codec.encode(payload))) == nil)
    }

    @Test("random soft values never verify (2000 tries)")
    func randomNeverVerifies() {
        var g = KeyedGenerator(seed: [UInt8](repeating: 3, count: 32))
        for _ in 0..<2000 {
            let s = (0..<VideoPayloadCodec.codedBits).map { _ in Float(Int(g.next() % 2001) - 1000) / 1000 }
            #expect(codec.decode(s) == nil)
        }
    }

    @Test("the video sub-key differs from the audio mark's derivations and between keys")
    func subkeys() {
        #expect(testKey.subkey("videomark.v1") != otherKey.subkey("videomark.v1"))
        #expect(testKey.subkey("videomark.v1") != testKey.subkey("other"))
        #expect(VideoMarkKey(testKey).tag(payload) != VideoMarkKey(otherKey).tag(payload))
    }
}
