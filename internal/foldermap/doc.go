// Package foldermap decides where every source folder of a migration lands on the target IMAP server.
//
// Plan is pure and deterministic: the same sources, target description and rules always give the same plan,
// and the plan never depends on map iteration order. It knows nothing about connections; callers read the
// target's separator, personal namespace prefix and special-use folders first and pass them in a Target.
//
// Placement, in order of precedence:
//
//   - Include/Exclude patterns decide what is copied, never where: a pattern selects a folder and its whole
//     subtree, and a folder filtered out still anchors the placement of selected folders below it.
//   - Rename rules place a folder and its subtree at an explicit target path.
//   - Special folders (a role from the source, or by name at top level; see RoleOf) map onto the target's
//     special-use folders; their subfolders follow them. With Rules.MigrateOutbox the
//     outbox goes into Drafts (Mapping.Outbox: store its messages as drafts); without, it is skipped.
//   - Groupware folders (Kind other than mail) map onto the mailbox's groupware folders; a second folder of
//     the same kind becomes a subfolder of the groupware folder, named after the source folder.
//   - Everything else keeps its source path, below Rules.Root when one is set.
//
// Names are escaped reversibly (Escape, Unescape), shortened with a hash suffix when the target limits the
// component length, and collisions are either merged on purpose (two special folders of one role) or
// resolved with a " (2)" suffix; both are reported in Mapping.Reason.
package foldermap
