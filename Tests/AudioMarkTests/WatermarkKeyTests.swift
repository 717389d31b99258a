import Testing
@testable import AudioMark

@Suite struct WatermarkKeyTests {
    @Test func rejectsShortSecrets() {
        #expect(throws: WatermarkError.keyTooShort(byteCount: 0)) { try WatermarkKey(secret: []) }
        #expect(throws: WatermarkError.keyTooShort(byteCount: 7)) { try WatermarkKey(secret: Array("1234567".utf8)) }
        #expect(WatermarkError.keyTooShort(byteCount: 3).description.contains("at least 8 bytes"))
        #expect((try? WatermarkKey(secret: Array("12345678".utf8))) != nil)
    }

    @Test func derivationsDependOnKeyAndPurpose() throws {
        let a = try WatermarkKey(secret: Array("secret-a-secret-a".utf8))
        let b = try WatermarkKey(secret: Array("secret-b-secret-b".utf8))
        #expect(a.derive("layout") != b.derive("layout"))
        #expect(a.derive("layout") != a.derive("crc-mask"))
        #expect(a.derive("layout") == a.derive("layout"))
        #expect(MarkLayout(key: a).pairSign != MarkLayout(key: b).pairSign)
        #expect(WatermarkKey.demo.secret.count >= WatermarkKey.minimumLength)
    }

    @Test func layoutIsConsistent() {
        let l = MarkLayout(key: .demo)
        #expect(l.syncSlotList.count == MarkGrid.syncSlots)
        #expect(Set(l.syncSlotList).count == MarkGrid.syncSlots)
        let data = l.codedIndex.filter { $0 >= 0 }.map(Int.init)
        #expect(data.sorted() == Array(0..<PayloadCodec.codedBits))   // every coded bit exactly once
        for k in 0..<MarkGrid.pairsPerPeriod {                          // 13 band-pairs per group
            let groups = (0..<MarkGrid.bandPairCount).map { l.pairGroup[k * MarkGrid.bandPairCount + $0] }
            #expect(groups.filter { $0 == 0 }.count == MarkGrid.bandPairCount / 2)
        }
    }
}
