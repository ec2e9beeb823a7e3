package codepage

import (
	"testing"

	"golang.org/x/text/encoding"
)

// encodeAll encodes UTF-8 texts in code page cp, as an Outlook of that locale stores them.
func encodeAll(t *testing.T, cp int, texts ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range texts {
		b, err := encoding.ReplaceUnsupported(Encoding(cp).NewEncoder()).Bytes([]byte(s))
		if err != nil {
			t.Fatalf("%q in %d: %v", s, cp, err)
		}
		out = append(out, b)
	}
	return out
}

// TestGuess: folder names and subjects as an Outlook of each locale writes them, encoded with the code
// page's own encoder, are recognised from their bytes alone.
func TestGuess(t *testing.T) {
	for _, c := range []struct {
		cp    int
		texts []string
	}{
		{932, []string{"受信トレイ", "送信済みアイテム", "削除済みアイテム", "連絡先 (Contact dedicated)", "会議の件について"}},
		{932, []string{"削除済みアイテム"}},
		{936, []string{"收件箱", "已发送邮件", "已删除邮件", "草稿", "垃圾邮件", "关于下周会议的安排"}},
		{936, []string{"已删除邮件"}},
		{950, []string{"收件匣", "寄件備份", "刪除的郵件", "草稿", "垃圾郵件", "關於下週會議的安排"}},
		{950, []string{"寄件備份"}},
		{949, []string{"받은 편지함", "보낸 편지함", "지운 편지함", "임시 보관함", "정크 메일", "다음 주 회의 일정 안내"}},
		{949, []string{"보낸 편지함"}},
		{1251, []string{"Входящие", "Отправленные", "Удаленные", "Черновики", "Исходящие", "Совещание в понедельник"}},
		{1251, []string{"Отправленные"}},
		{1251, []string{"Контакты"}},
		{1252, []string{"Gelöschte Elemente", "Éléments envoyés", "Boîte de réception", "Bandeja de salida", "Réunion à Zürich"}},
		{1252, []string{"Entwürfe"}},
		{1253, []string{"Εισερχόμενα", "Απεσταλμένα", "Πρόχειρα"}},
	} {
		got, ok := Guess(encodeAll(t, c.cp, c.texts...))
		if !ok || got != c.cp {
			t.Errorf("%q: guessed %d (%v), want %d", c.texts, got, ok, c.cp)
		}
	}
}

// TestGuessNothingToDecide: ASCII says nothing about the code page; bytes valid in no candidate neither.
func TestGuessNothingToDecide(t *testing.T) {
	if cp, ok := Guess([][]byte{[]byte("Inbox"), []byte("Sent Items")}); ok {
		t.Errorf("ASCII: guessed %d", cp)
	}
	if cp, ok := Guess(nil); ok {
		t.Errorf("nothing: guessed %d", cp)
	}
}

func TestFromLocale(t *testing.T) {
	for lcid, want := range map[int]int{0x0411: 932, 0x0412: 949, 0x0804: 936, 0x0404: 950, 0x0c04: 950, 0x0419: 1251,
		0x0409: 1252, 0x0407: 1252, 0x0415: 1250, 0x0408: 1253, 0x041f: 1254, 0x0c1a: 1251, 0x041a: 1250, 0: 0} {
		if got := FromLocale(lcid); got != want {
			t.Errorf("FromLocale(%#04x) = %d, want %d", lcid, got, want)
		}
	}
}
