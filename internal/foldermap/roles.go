package foldermap

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// defaultFolderNames are the names Outlook, Exchange, Thunderbird and Apple Mail give their default folders,
// in the languages those clients ship. A PST or an Exchange IMAP account carries the names of the language
// the mailbox was created in, so the role of "Gesendete Elemente" must be recognised without knowing it.
// Several clients and versions differ ("Gesendete Objekte" before Outlook 2007, "Junk E-mail" before
// Outlook 2016); both are listed. A name belongs to exactly one role (checked when the index is built).
var defaultFolderNames = map[Role][]string{
	RoleInbox: {
		"Inbox", "INBOX", // English; IMAP
		"Posteingang",         // German
		"Boîte de réception",  // French
		"Bandeja de entrada",  // Spanish
		"Posta in arrivo",     // Italian
		"Postvak IN",          // Dutch
		"Caixa de Entrada",    // Portuguese
		"Входящие",            // Russian
		"Indbakke",            // Danish
		"Innboks",             // Norwegian
		"Inkorgen",            // Swedish
		"Saapuneet",           // Finnish
		"Odebrane",            // Polish
		"Doručená pošta",      // Czech
		"Beérkezett üzenetek", // Hungarian
		"Gelen Kutusu",        // Turkish
		"受信トレイ",               // Japanese
		"收件箱",                 // Chinese (Simplified)
		"收件匣",                 // Chinese (Traditional)
		"받은 편지함",              // Korean
	},
	RoleSent: {
		"Sent Items", "Sent", "Sent Messages", "Sent Mail", // Outlook; Thunderbird; Apple Mail; Gmail
		"Gesendete Elemente", "Gesendete Objekte", "Gesendet", // German
		"Éléments envoyés", "Envoyés", // French
		"Elementos enviados", "Enviados", // Spanish, Portuguese (Thunderbird)
		"Posta inviata", "Inviati", "Inviata", // Italian
		"Verzonden items", "Verzonden", // Dutch
		"Itens Enviados",             // Portuguese
		"Отправленные",               // Russian
		"Sendt post",                 // Danish
		"Sendte elementer",           // Norwegian
		"Skickat", "Skickade objekt", // Swedish
		"Lähetetyt",                   // Finnish
		"Wysłane", "Elementy wysłane", // Polish
		"Odeslaná pošta",     // Czech
		"Elküldött elemek",   // Hungarian
		"Gönderilmiş Öğeler", // Turkish
		"送信済みアイテム",           // Japanese
		"已发送邮件", "已发送",       // Chinese (Simplified)
		"寄件備份",   // Chinese (Traditional)
		"보낸 편지함", // Korean
	},
	RoleTrash: {
		"Deleted Items", "Trash", "Deleted Messages", "Bin", // Outlook; Thunderbird; Apple Mail; UK clients
		"Gelöschte Elemente", "Gelöschte Objekte", "Papierkorb", // German
		"Éléments supprimés", "Corbeille", // French
		"Elementos eliminados", "Papelera", // Spanish
		"Posta eliminata", "Cestino", // Italian
		"Verwijderde items", "Prullenbak", // Dutch
		"Itens Excluídos", "Itens Eliminados", "Lixeira", // Portuguese (Brazil, Portugal)
		"Удаленные", "Удалённые", "Корзина", // Russian
		"Slettet post",                  // Danish
		"Slettede elementer",            // Norwegian
		"Borttaget", "Borttagna objekt", // Swedish
		"Poistetut",                 // Finnish
		"Elementy usunięte", "Kosz", // Polish
		"Odstraněná pošta", // Czech
		"Törölt elemek",    // Hungarian
		"Silinmiş Öğeler",  // Turkish
		"削除済みアイテム",         // Japanese
		"已删除邮件", "已删除",     // Chinese (Simplified)
		"刪除的郵件",  // Chinese (Traditional)
		"지운 편지함", // Korean
	},
	RoleDrafts: {
		"Drafts",        // English
		"Entwürfe",      // German
		"Brouillons",    // French
		"Borradores",    // Spanish
		"Bozze",         // Italian
		"Concepten",     // Dutch
		"Rascunhos",     // Portuguese
		"Черновики",     // Russian
		"Kladder",       // Danish
		"Utkast",        // Norwegian, Swedish
		"Luonnokset",    // Finnish
		"Kopie robocze", // Polish
		"Koncepty",      // Czech
		"Piszkozatok",   // Hungarian
		"Taslaklar",     // Turkish
		"下書き",           // Japanese
		"草稿",            // Chinese
		"임시 보관함",        // Korean
	},
	RoleJunk: {
		"Junk E-mail", "Junk Email", "Junk", "Spam", "Bulk Mail", // English (Outlook, Thunderbird, Apple, Yahoo)
		"Junk-E-Mail",                          // German
		"Courrier indésirable", "Indésirables", // French
		"Correo no deseado",              // Spanish
		"Posta indesiderata",             // Italian
		"Ongewenste e-mail", "Ongewenst", // Dutch
		"Lixo Eletrônico", "Lixo Eletrónico", "Correio Eletrónico de Lixo", // Portuguese (Brazil, Portugal)
		"Нежелательная почта", "Спам", // Russian
		"Uønsket mail",      // Danish
		"Søppelpost",        // Norwegian
		"Skräppost",         // Swedish
		"Roskaposti",        // Finnish
		"Wiadomości-śmieci", // Polish
		"Nevyžádaná pošta",  // Czech
		"Levélszemét",       // Hungarian
		"Gereksiz E-posta",  // Turkish
		"迷惑メール",             // Japanese
		"垃圾邮件",              // Chinese (Simplified)
		"垃圾郵件",              // Chinese (Traditional)
		"정크 메일",             // Korean
	},
	RoleArchive: {
		"Archive", "Archives", // English; Thunderbird, French
		"Archiv",                   // German, Czech
		"Archivo",                  // Spanish
		"Archivio",                 // Italian
		"Archief",                  // Dutch
		"Arquivo", "Arquivo Morto", // Portuguese
		"Архив",    // Russian
		"Arkiv",    // Danish, Norwegian, Swedish
		"Arkisto",  // Finnish
		"Archiwum", // Polish
		"Archívum", // Hungarian
		"Arşiv",    // Turkish
		"アーカイブ",    // Japanese
		"存档",       // Chinese (Simplified)
		"封存",       // Chinese (Traditional)
	},
	RoleOutbox: {
		"Outbox", "Unsent Messages", // Outlook; Thunderbird
		"Postausgang",                // German
		"Boîte d'envoi",              // French
		"Bandeja de salida",          // Spanish
		"Posta in uscita",            // Italian
		"Postvak UIT",                // Dutch
		"Caixa de Saída", "A Enviar", // Portuguese (Brazil, Portugal)
		"Исходящие",           // Russian
		"Udbakke",             // Danish
		"Utboks",              // Norwegian
		"Utkorgen",            // Swedish
		"Lähtevät",            // Finnish
		"Skrzynka nadawcza",   // Polish
		"Pošta k odeslání",    // Czech
		"Postázandó üzenetek", // Hungarian
		"Giden Kutusu",        // Turkish
		"送信トレイ",               // Japanese
		"发件箱",                 // Chinese (Simplified)
		"寄件匣",                 // Chinese (Traditional)
		"보낼 편지함",              // Korean
	},
}

// roleByName indexes defaultFolderNames by nameKey. It is built on first use: folding every name costs
// start-up time to each run of the CLI that never looks a folder up.
var roleByName = sync.OnceValue(func() map[string]Role { return indexNames(defaultFolderNames) })

func indexNames[K comparable](names map[K][]string) map[string]K {
	index := make(map[string]K)
	for k, list := range names {
		for _, name := range list {
			key := nameKey(name)
			if prev, ok := index[key]; ok && prev != k {
				panic(fmt.Sprintf("foldermap: default folder name %q listed for two purposes", name))
			}
			index[key] = k
		}
	}
	return index
}

// RoleOf returns the role a top-level folder has by its name in any supported language, or RoleNone.
// Matching ignores case, Unicode normalisation form, spaces, hyphens, underscores and apostrophes, so that
// "Junk E-mail", "junk-e-mail" and "Boîte d’envoi" (typographic apostrophe, decomposed î) are recognised.
// Only top-level folders have roles by name; Plan does not call RoleOf for subfolders.
func RoleOf(name string) Role {
	return roleByName()[nameKey(name)]
}

// nameKey folds a folder name for comparison with the default names.
func nameKey(name string) string {
	folded := norm.NFC.String(cases.Fold().String(norm.NFC.String(name)))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\t', '-', '_', '\'', '\u2019', '\u02bc':
			return -1
		}
		return r
	}, folded)
}
