package rtf

import "hash/crc32"

// rtfCRC computes the CRC of [MS-OXRTFCP] 3.1.3.2 over the CONTENTS field (the bytes after the 16-byte
// header). It is the IEEE CRC-32 table algorithm (reflected polynomial 0xEDB88320) but starts from 0 and
// has no final inversion, unlike the CRC-32 of zip and PNG, which starts from 0xFFFFFFFF and inverts the
// result.
//
// hash/crc32 implements the common variant by inverting on the way in and on the way out; handing it an
// already inverted start value and inverting its answer cancels both, which leaves the spec's variant and
// keeps the table-free hardware implementation.
func rtfCRC(contents []byte) uint32 {
	return ^crc32.Update(^uint32(0), crc32.IEEETable, contents)
}
