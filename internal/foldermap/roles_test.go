package foldermap

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestRoleOfLanguages(t *testing.T) {
	// Every role in the languages the migration must support, as Outlook names the default folders.
	byLanguage := map[string]map[Role][]string{
		"English":    {RoleInbox: {"Inbox"}, RoleSent: {"Sent Items"}, RoleTrash: {"Deleted Items"}, RoleDrafts: {"Drafts"}, RoleJunk: {"Junk E-mail", "Junk Email"}, RoleArchive: {"Archive"}, RoleOutbox: {"Outbox"}},
		"German":     {RoleInbox: {"Posteingang"}, RoleSent: {"Gesendete Elemente", "Gesendete Objekte"}, RoleTrash: {"Gelöschte Elemente", "Gelöschte Objekte"}, RoleDrafts: {"Entwürfe"}, RoleJunk: {"Junk-E-Mail"}, RoleArchive: {"Archiv"}, RoleOutbox: {"Postausgang"}},
		"French":     {RoleInbox: {"Boîte de réception"}, RoleSent: {"Éléments envoyés"}, RoleTrash: {"Éléments supprimés"}, RoleDrafts: {"Brouillons"}, RoleJunk: {"Courrier indésirable"}, RoleArchive: {"Archives"}, RoleOutbox: {"Boîte d'envoi"}},
		"Spanish":    {RoleInbox: {"Bandeja de entrada"}, RoleSent: {"Elementos enviados"}, RoleTrash: {"Elementos eliminados"}, RoleDrafts: {"Borradores"}, RoleJunk: {"Correo no deseado"}, RoleArchive: {"Archivo"}, RoleOutbox: {"Bandeja de salida"}},
		"Italian":    {RoleInbox: {"Posta in arrivo"}, RoleSent: {"Posta inviata"}, RoleTrash: {"Posta eliminata"}, RoleDrafts: {"Bozze"}, RoleJunk: {"Posta indesiderata"}, RoleArchive: {"Archivio"}, RoleOutbox: {"Posta in uscita"}},
		"Dutch":      {RoleInbox: {"Postvak IN"}, RoleSent: {"Verzonden items"}, RoleTrash: {"Verwijderde items"}, RoleDrafts: {"Concepten"}, RoleJunk: {"Ongewenste e-mail"}, RoleArchive: {"Archief"}, RoleOutbox: {"Postvak UIT"}},
		"Portuguese": {RoleInbox: {"Caixa de Entrada"}, RoleSent: {"Itens Enviados"}, RoleTrash: {"Itens Excluídos"}, RoleDrafts: {"Rascunhos"}, RoleJunk: {"Lixo Eletrônico"}, RoleArchive: {"Arquivo"}, RoleOutbox: {"Caixa de Saída"}},
		"Russian":    {RoleInbox: {"Входящие"}, RoleSent: {"Отправленные"}, RoleTrash: {"Удаленные"}, RoleDrafts: {"Черновики"}, RoleJunk: {"Нежелательная почта"}, RoleArchive: {"Архив"}, RoleOutbox: {"Исходящие"}},
		"Japanese":   {RoleInbox: {"受信トレイ"}, RoleSent: {"送信済みアイテム"}, RoleTrash: {"削除済みアイテム"}, RoleDrafts: {"下書き"}, RoleJunk: {"迷惑メール"}, RoleArchive: {"アーカイブ"}, RoleOutbox: {"送信トレイ"}},
		"Nordic":     {RoleInbox: {"Indbakke", "Inkorgen", "Saapuneet"}, RoleSent: {"Sendt post", "Skickat", "Lähetetyt"}},
		"Polish":     {RoleInbox: {"Odebrane"}, RoleSent: {"Wysłane"}},
		"Chinese":    {RoleInbox: {"收件箱"}, RoleSent: {"已发送邮件"}},
		"IMAP":       {RoleInbox: {"INBOX"}, RoleSent: {"Sent", "Sent Messages"}, RoleTrash: {"Trash", "Deleted Messages"}, RoleJunk: {"Junk", "Spam"}},
	}
	for lang, roles := range byLanguage {
		for want, names := range roles {
			for _, name := range names {
				if got := RoleOf(name); got != want {
					t.Errorf("%s: RoleOf(%q) = %v, want %v", lang, name, got, want)
				}
			}
		}
	}
}

func TestRoleOfNormalisation(t *testing.T) {
	tests := []struct {
		name string
		want Role
	}{
		{"SENT ITEMS", RoleSent},
		{"sent items", RoleSent},
		{"  Sent Items ", RoleSent},
		{"junk e-mail", RoleJunk},
		{"JUNK-E-MAIL", RoleJunk},
		{norm.NFD.String("Gelöschte Elemente"), RoleTrash},
		{norm.NFD.String("Éléments envoyés"), RoleSent},
		{"ÉLÉMENTS ENVOYÉS", RoleSent},
		{"Boîte d’envoi", RoleOutbox}, // typographic apostrophe
		{"УДАЛЕННЫЕ", RoleTrash},
		{"Projekte", RoleNone},
		{"Sent Items 2", RoleNone},
		{"", RoleNone},
		{"Calendar", RoleNone}, // groupware, not a mail role
	}
	for _, tt := range tests {
		if got := RoleOf(tt.name); got != tt.want {
			t.Errorf("RoleOf(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDefaultNamesIndexed(t *testing.T) {
	// indexNames panics on a name listed for two roles; this also checks every name is reachable.
	for role, names := range defaultFolderNames {
		for _, name := range names {
			if got := RoleOf(name); got != role {
				t.Errorf("RoleOf(%q) = %v, want %v", name, got, role)
			}
		}
	}
}
