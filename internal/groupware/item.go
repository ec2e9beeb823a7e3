package groupware

// Item is one groupware object the writers can turn into a message: *Event, *Contact, *DistList, *Task, *Note
// or *Journal.
type Item interface {
	Kind() Kind
	Base() *Common
}

func (e *Event) Kind() Kind    { return KindEvent }
func (c *Contact) Kind() Kind  { return KindContact }
func (d *DistList) Kind() Kind { return KindDistList }
func (t *Task) Kind() Kind     { return KindTask }
func (n *Note) Kind() Kind     { return KindNote }
func (j *Journal) Kind() Kind  { return KindJournal }

func (e *Event) Base() *Common    { return &e.Common }
func (c *Contact) Base() *Common  { return &c.Common }
func (d *DistList) Base() *Common { return &d.Common }
func (t *Task) Base() *Common     { return &t.Common }
func (n *Note) Base() *Common     { return &n.Common }
func (j *Journal) Base() *Common  { return &j.Common }
