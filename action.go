package dbtrust

// Action is something a caller does that a dialect may name in its own words
// (an IAM action, an HTTP route). The core decides, once, the least role each
// action needs; the core's methods and every dialect that checks early ask
// Authorize, so that the same action needs the same role whichever API
// performs it.
type Action string

// The actions whose role a dialect asks about before it calls the core.
const (
	// ActionReadAccount reads the caller's own account (its name and project).
	ActionReadAccount Action = "account.read"
	// ActionReadInstance reads an instance's settings.
	ActionReadInstance Action = "instance.read"
	// ActionReadCA reads an instance's CAs: the bundle, a file or a link to
	// it. CA certificates are what every client must be able to fetch, so a
	// viewer may, whichever vendor API names the call and however that
	// vendor ranks it.
	ActionReadCA Action = "ca.read"
	// ActionSetTLS switches an instance's TLS on or off.
	ActionSetTLS Action = "instance.tls"
	// ActionSetClusterSettings changes a cluster's maintenance window,
	// storage autoscale or firewall rules (package clustersettings).
	ActionSetClusterSettings Action = "instance.settings"
)

// actionRoles is the least role of each Action.
var actionRoles = map[Action]Role{
	ActionReadAccount:  RoleViewer,
	ActionReadInstance: RoleViewer,
	ActionReadCA:       RoleViewer,
	ActionSetTLS:       RoleAdmin,
	// Members create and delete instances; they may set what tools set
	// around them.
	ActionSetClusterSettings: RoleMember,
}

// RoleFor returns the least role that may perform a; "" for an unknown
// Action, which no role may perform.
func RoleFor(a Action) Role { return actionRoles[a] }

// Authorize returns Forbidden unless p acts in an account and its role may
// perform a.
func Authorize(p Principal, a Action) error {
	min, ok := actionRoles[a]
	if !ok {
		return Errorf(Forbidden, "unknown action %q", a)
	}
	return Require(p, min)
}
