package migrationrun

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// WorkerRules are everything a worker pod may do: read and patch its own MailboxMigration's status (the
// progress) and its own checkpoint and report ConfigMaps, named one by one. RBAC cannot limit create to
// names, so the manager creates the ConfigMaps before the worker starts and the worker only patches them
// (server-side apply of an existing object is a patch). A worker can therefore neither touch another
// migration's objects nor create anything.
func WorkerRules(migration, checkpoint, report string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"mailshift.io"}, Resources: []string{"mailboxmigrations/status"},
			ResourceNames: []string{migration}, Verbs: []string{"get", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"},
			ResourceNames: []string{checkpoint, report}, Verbs: []string{"get", "patch"}},
	}
}
