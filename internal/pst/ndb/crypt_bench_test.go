package ndb

import "testing"

// BenchmarkDecrypt: decoding one full 8 KiB data block, as every external block of an encoded file is.
func BenchmarkDecrypt(b *testing.B) {
	for _, m := range []struct {
		name   string
		method CryptMethod
	}{{"permute", CryptPermute}, {"cyclic", CryptCyclic}} {
		b.Run(m.name, func(b *testing.B) {
			p := make([]byte, 8192-16)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				decrypt(m.method, p, 0x1234)
			}
		})
	}
}
