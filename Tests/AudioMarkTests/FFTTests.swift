import Testing
@testable import AudioMark
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FFTTests {
    @Test(arguments: [16, 256, 512, 1024, 2048])
    func inverseUndoesForward(size: Int) {
        let fft = RealFFT(size: size)
        var x = [Float](repeating: 0, count: size)
        for i in 0..<size { x[i] = Float(sin(Double(i) * 0.37) + 0.5 * cos(Double(i * i) * 0.01)) }
        var re = [Float](repeating: 0, count: size / 2 + 1), im = re, y = x
        fft.forward(x, re: &re, im: &im)
        fft.inverse(re: re, im: im, output: &y)
        let err = zip(x, y).map { abs($0 - $1) }.max()!
        #expect(err < 1e-4)
    }

    @Test func sineLandsInItsBin() {
        let n = 1024
        let fft = RealFFT(size: n)
        let x = (0..<n).map { Float(cos(2 * Double.pi * 37 * Double($0) / Double(n))) }
        var re = [Float](repeating: 0, count: n / 2 + 1), im = re
        fft.forward(x, re: &re, im: &im)
        let mags = (0...(n / 2)).map { (re[$0] * re[$0] + im[$0] * im[$0]).squareRoot() }
        #expect(abs(mags[37] - Float(n / 2)) < 0.01 * Float(n))
        #expect(mags.enumerated().filter { $0.offset != 37 }.map(\.element).max()! < 0.01)
    }
}
