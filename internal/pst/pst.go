// Package pst is the messaging layer of mailshift's pure-Go Outlook PST reader ([MS-PST] section 2.4): the
// message store, the folder hierarchy, messages, recipients, attachments and named properties. It sits on the
// node database (package ndb) and the lists, tables and properties layer (package ltp).
//
// A File is safe for concurrent use: folders and messages may be read from several goroutines at once.
package pst

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// Property IDs used by this package ([MS-OXPROPS]).
const (
	propMessageClass         = 0x001A
	propSubject              = 0x0037
	propClientSubmitTime     = 0x0039
	propSentReprName         = 0x0042
	propSentReprEmail        = 0x0065
	propTransportHeaders     = 0x007D
	propRecipientType        = 0x0C15
	propRecipientFlags       = 0x5FFD
	propRecipientTrackStatus = 0x5FFF
	propSenderName           = 0x0C1A
	propSenderEmail          = 0x0C1F
	propSenderAddrType       = 0x0C1E
	propDeliveryTime         = 0x0E06
	propMessageSize          = 0x0E08
	propAttachSize           = 0x0E20
	propRecordKey            = 0x0FF9
	propBody                 = 0x1000
	propHTML                 = 0x1013
	propInternetMessageID    = 0x1035
	propDisplayName          = 0x3001
	propAddrType             = 0x3002
	propEmailAddress         = 0x3003
	propContentCount         = 0x3602
	propContentUnread        = 0x3603
	propSubfolders           = 0x360A
	propContainerClass       = 0x3613
	propAssocContentCount    = 0x3617
	propIPMSubtreeEntryID    = 0x35E0
	propIPMWastebasketEID    = 0x35E3
	propIPMOutboxEntryID     = 0x35E2
	propFinderEntryID        = 0x35E7
	propAttachDataBin        = 0x3701
	propAttachFilename       = 0x3704
	propAttachMethod         = 0x3705
	propAttachLongFilename   = 0x3707
	propAttachMIMETag        = 0x370E
	propAttachContentID      = 0x3712
	propSMTPAddress          = 0x39FE
	propInternetCPID         = 0x3FDE
	propMessageCodePage      = 0x3FFD
	propSenderSMTPAddress    = 0x5D01
	propCodePageID           = 0x66C3
	propPSTPassword          = 0x67FF
	propAttachmentHidden     = 0x7FFE
	defaultCodePage          = 1252
	nidRecipientTable        = ndb.NID(0x692)
	nidAttachmentTable       = ndb.NID(0x671)
	attachMethodEmbeddedMsg  = 5
)

// ErrNotPST is returned (wrapped) by Open when the input is not a PST file at all.
var ErrNotPST = ndb.ErrNotPST

// File is an open PST file.
type File struct {
	db     *ndb.File
	closer io.Closer

	// DefaultCodePage, when set, is the code page of the file's ANSI strings that carry none of their own
	// (folder names, items without PR_MESSAGE_CODEPAGE or PR_INTERNET_CPID), whatever the store says. 0
	// means: find it (see CodePage). Set it before reading anything.
	DefaultCodePage int
	cpChoice        CodePageChoice

	storeOnce sync.Once
	store     *Store
	storeErr  error
	storePC   *ltp.PropertyContext

	namesOnce sync.Once
	names     *nameMap
	namesErr  error
}

// Open reads a PST file from r, whose length is size. It reads the message store's properties at once, so
// a file that is not a PST, or is truncated or damaged at its core, fails here (see IsNotPST, IsTruncated,
// IsCorrupt) rather than at the first folder.
func Open(r io.ReaderAt, size int64) (_ *File, err error) {
	defer recoverPanic("message store", ndb.NIDMessageStore, &err)
	db, err := ndb.Open(r, size)
	if err != nil {
		return nil, err
	}
	n, err := db.Node(ndb.NIDMessageStore)
	if err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	if _, err := ltp.OpenPC(n); err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	return &File{db: db}, nil
}

// OpenPath opens the PST file at path; Close closes it.
func OpenPath(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return OpenFile(fh)
}

// OpenFile reads the PST in an open file (one its caller opened inside a confined root, say); the File owns
// fh from here on: Close closes it, and so does a failed open.
func OpenFile(fh *os.File) (*File, error) {
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("%s: is a directory: %w", fh.Name(), ErrNotPST)
	}
	f, err := Open(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", fh.Name(), err)
	}
	f.closer = fh
	return f, nil
}

// Close closes the underlying file when the File was made by OpenPath or OpenFile.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// NDB gives access to the node database beneath, for tools that need it.
func (f *File) NDB() *ndb.File { return f.db }

// IsNotPST reports whether err says the input is not a PST file at all.
func IsNotPST(err error) bool { return errors.Is(err, ndb.ErrNotPST) }

// IsTruncated reports whether err says the file is shorter than its own structures claim.
func IsTruncated(err error) bool {
	var te *ndb.TruncatedError
	return errors.As(err, &te)
}

// IsCorrupt reports whether err says a structure of the file is damaged.
func IsCorrupt(err error) bool {
	var ce *ndb.CorruptError
	var le *ltp.CorruptError
	return errors.As(err, &ce) || errors.As(err, &le) || errors.Is(err, ndb.ErrUnsupported)
}

// Store is the message store: the PST's own properties.
type Store struct {
	DisplayName string
	RecordKey   []byte
	// PasswordCRC is PR_PST_PASSWORD: the CRC-32 of the password Outlook asks for, 0 when none is set. It
	// encrypts nothing; it is reported, never needed.
	PasswordCRC uint32
	// CodePage is the store's code page (PR_MESSAGE_CODEPAGE or PR_CODE_PAGE_ID), 0 when it has none.
	CodePage int

	ipmSubtree  ndb.NID
	wastebasket ndb.NID
	outbox      ndb.NID
	finder      ndb.NID
}

// Store reads the message store.
func (f *File) Store() (*Store, error) {
	f.storeOnce.Do(func() { f.store, f.storeErr = f.readStore() })
	return f.store, f.storeErr
}

func (f *File) readStore() (_ *Store, err error) {
	defer recoverPanic("message store", ndb.NIDMessageStore, &err)
	n, err := f.db.Node(ndb.NID(ndb.NIDMessageStore))
	if err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	f.storePC = pc
	s := &Store{}
	if v, ok := pc.Get(propMessageCodePage); ok {
		s.CodePage = int(intValue(v))
	} else if v, ok := pc.Get(propCodePageID); ok {
		s.CodePage = int(intValue(v))
	}
	if v, ok := pc.Get(propRecordKey); ok {
		s.RecordKey = bytesValue(v)
	}
	if v, ok := pc.Get(propPSTPassword); ok {
		s.PasswordCRC = uint32(intValue(v))
	}
	s.ipmSubtree = entryIDNID(pc, propIPMSubtreeEntryID)
	s.wastebasket = entryIDNID(pc, propIPMWastebasketEID)
	s.outbox = entryIDNID(pc, propIPMOutboxEntryID)
	s.finder = entryIDNID(pc, propFinderEntryID)
	if s.ipmSubtree == 0 {
		// Every store Outlook writes has the IPM subtree; [MS-PST] 2.4.3 gives its usual NID.
		s.ipmSubtree = ndb.NID(0x8022)
	}
	f.cpChoice = f.detectCodePage(s, pc)
	if v, ok := pc.Get(propDisplayName); ok {
		s.DisplayName = stringValue(v, f.cpChoice.CodePage)
	}
	return s, nil
}

// entryIDNID reads the NID from an EntryID property: 4 bytes of flags, 16 bytes of provider UID, then the NID.
func entryIDNID(pc *ltp.PropertyContext, id uint16) ndb.NID {
	v, ok := pc.Get(id)
	if !ok {
		return 0
	}
	b := bytesValue(v)
	if len(b) < 24 {
		return 0
	}
	return ndb.NID(uint32(b[20]) | uint32(b[21])<<8 | uint32(b[22])<<16 | uint32(b[23])<<24)
}

// recoverPanic turns a panic below into an error naming the structure being read, so that a damaged file can
// never crash the caller. The layers below check their bounds; this is the last line of defence.
func recoverPanic(what string, nid ndb.NID, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s %#x: internal error reading a damaged structure: %v", what, uint32(nid), r)
	}
}

// intValue returns an integer property, 0 when it is not one.
func intValue(v ltp.Value) int64 {
	n, err := v.Int()
	if err != nil {
		return 0
	}
	return n
}

func bytesValue(v ltp.Value) []byte {
	b, err := v.Bytes()
	if err != nil {
		return nil
	}
	return b
}

func stringValue(v ltp.Value, cp int) string {
	s, err := v.String(cp)
	if err != nil {
		return ""
	}
	return s
}
