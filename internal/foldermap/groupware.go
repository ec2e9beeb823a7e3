package foldermap

import (
	"sync"

	"github.com/mailshift/mailshift/internal/groupware"
)

// folderKind is the kind of folder an item kind lives in: distribution lists live in contact folders, so a
// folder of distribution lists is routed like a contact folder.
func folderKind(k groupware.Kind) groupware.Kind {
	if k == groupware.KindDistList {
		return groupware.KindContact
	}
	return k
}

func isGroupware(k groupware.Kind) bool { return folderKind(k) != groupware.KindMail }

// defaultGroupwareNames are the names Outlook gives its default groupware folders. They only break ties
// when a source has several top-level folders of one kind and none is marked Source.Default: the folder
// with the default name becomes the mailbox's folder of that kind, the others its subfolders.
var defaultGroupwareNames = map[groupware.Kind][]string{
	groupware.KindEvent: {
		"Calendar", "Kalender", "Calendrier", "Calendario", "Agenda", "Calendário", "Календарь",
		"Kalenteri", "Kalendarz", "Kalendář", "Naptár", "Takvim", "予定表", "日历", "行事曆", "일정",
	},
	groupware.KindContact: {
		"Contacts", "Kontakte", "Contactos", "Contatti", "Contactpersonen", "Contatos", "Контакты",
		"Kontakter", "Yhteystiedot", "Kontakty", "Névjegyek", "Kişiler", "連絡先", "联系人", "連絡人", "연락처",
	},
	groupware.KindTask: {
		"Tasks", "Aufgaben", "Tâches", "Tareas", "Attività", "Taken", "Tarefas", "Задачи", "Opgaver",
		"Oppgaver", "Uppgifter", "Tehtävät", "Zadania", "Úkoly", "Feladatok", "Görevler", "タスク", "任务",
		"工作", "작업",
	},
	groupware.KindNote: {
		"Notes", "Notizen", "Notas", "Note", "Notities", "Anotações", "Заметки", "Noter", "Notater",
		"Anteckningar", "Muistiinpanot", "Notatki", "Poznámky", "Jegyzetek", "Notlar", "メモ", "便笺", "記事",
		"메모",
	},
	groupware.KindJournal: {
		"Journal", "Diario", "Dagboek", "Diário", "Дневник", "Päiväkirja", "Dziennik", "Deník", "Napló",
		"Günlük", "履歴", "日记", "日記", "업무 일지",
	},
}

var groupwareKindByName = sync.OnceValue(func() map[string]groupware.Kind { return indexNames(defaultGroupwareNames) })

// isDefaultGroupwareName reports whether name is Outlook's name for the default folder of kind k.
func isDefaultGroupwareName(name string, k groupware.Kind) bool {
	got, ok := groupwareKindByName()[nameKey(name)]
	return ok && got == folderKind(k)
}
