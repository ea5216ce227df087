# Who may do what in IntelGraph. Every service action is decided here, in process,
# by intelgraph.policy.engine. Default deny: an action is allowed only by a rule below.
#
# Input:
#   {"subject":  {"tenant": <str|null>, "roles": [<str>...], "is_operator": <bool>},
#    "action":   <str>,
#    "resource": {"tenant": <str|null>, "kind": <str>}}
#
# Output: `allow` (bool), `reason` (why, in words a client can act on), `hint` (what to
# do about a denial, "" when there is nothing to suggest) and `decision`, all three in
# one object so the engine needs a single query.
#
# rego-cpp note: strings are built with concat, never sprintf — sprintf("%s") of a
# computed string yields a quoted, unescaped value in rego-cpp and breaks the output.
package intelgraph.authz

import rego.v1

# What each tenant role may do. A principal holding several roles gets the union.
grants := {
	"viewer": {"entity.read", "analytics.read"},
	"analyst": {"entity.read", "analytics.read", "ingest.write"},
	"admin": {"entity.read", "analytics.read", "ingest.write", "admin.write"},
}

# What each operator role may do, on any tenant. Operators administer the platform; they
# never read or write a tenant's data, so no data action is listed here.
operator_grants := {
	"platform-admin": {
		"tenant.admin", "admin.write", "billing.admin", "trust.admin", "audit.read",
		"operator.admin",
	},
	"billing-admin": {"billing.admin", "audit.read"},
	"trust-admin": {"trust.admin", "audit.read"},
	"auditor": {"audit.read"},
}

operator_actions := {action | some grants in operator_grants; some action in grants}

known_actions := {
	"entity.read", "analytics.read", "ingest.write", "admin.write", "tenant.admin",
	"billing.admin", "trust.admin", "audit.read", "operator.admin",
}

# Least privilege first: hints name the smallest operator role that would do.
operator_role_order := ["auditor", "billing-admin", "trust-admin", "platform-admin"]

# Least privilege first: hints name the smallest role that would do.
role_order := ["viewer", "analyst", "admin"]

role_names := {role | some role in role_order}

default allow := false

allow if {
	is_operator
	some role in input.subject.roles
	input.action in operator_grants[role]
}

allow if {
	is_tenant_principal
	in_own_tenant
	some role in input.subject.roles
	input.action in grants[role]
}

# The operator carries no tenant; a principal flagged operator *with* a tenant is
# malformed and gets nothing.
is_operator if {
	input.subject.is_operator == true
	input.subject.tenant == null
}

is_tenant_principal if {
	input.subject.is_operator == false
	is_string(input.subject.tenant)
	input.subject.tenant != ""
}

# A resource tenant of null means "the caller's own tenant": services pass null when the
# resource is addressed through the principal (e.g. ingest into my graph), since the
# tenant id always comes from the principal. It never widens access: null resolves to the
# subject's own tenant only, and a tenant principal has no other scope.
in_own_tenant if input.resource.tenant == input.subject.tenant

in_own_tenant if input.resource.tenant == null

# The caller's roles that mean something here, in role order for stable messages.
held_roles := [role |
	some role in role_order
	role in input.subject.roles
]

# Roles that would grant the action, least privileged first.
granting_roles := [role |
	some role in role_order
	input.action in grants[role]
]

role_hint := concat("", ["ask a tenant admin for a key with role ", granting_roles[0]]) if {
	count(granting_roles) > 0
} else := "no tenant role grants this action"

role_phrase := concat("", ["role ", held_roles[0]]) if count(held_roles) == 1

role_phrase := concat("", ["roles ", concat(", ", held_roles)]) if count(held_roles) > 1

# Operator roles that would grant the action, least privileged first.
granting_operator_roles := [role |
	some role in operator_role_order
	input.action in operator_grants[role]
]

held_operator_roles := [role |
	some role in operator_role_order
	role in input.subject.roles
]

# Reasons are checked in this order; the first that applies explains the decision.
outcome := {"reason": "allowed", "hint": ""} if {
	allow
} else := {
	"reason": "unknown action",
	"hint": concat("", ["known actions are ", concat(", ", sort(known_actions))]),
} if {
	not input.action in known_actions
} else := {
	"reason": "malformed principal: an operator carries no tenant, a tenant principal must",
	"hint": "use an API key issued by IntelGraph",
} if {
	not is_operator
	not is_tenant_principal
} else := {
	"reason": concat("", [
		"the platform operator may not ", input.action,
		"; operators administer tenants, they do not read or write tenant data",
	]),
	"hint": "use an API key issued to the tenant",
} if {
	is_operator
	not input.action in operator_actions
} else := {
	"reason": "operator holds no operator role",
	"hint": concat("", ["ask a platform-admin for an operator key with role ", granting_operator_roles[0]]),
} if {
	is_operator
	count(held_operator_roles) == 0
} else := {
	"reason": concat("", ["operator role ", concat(", ", held_operator_roles), " may not ", input.action]),
	"hint": concat("", ["ask a platform-admin for an operator key with role ", granting_operator_roles[0]]),
} if {
	is_operator
} else := {
	"reason": "resource belongs to another tenant",
	"hint": "",
} if {
	not in_own_tenant
} else := {
	"reason": concat("", [input.action, " is reserved for the platform operator"]),
	"hint": "ask the platform operator",
} if {
	input.action in operator_actions
	not input.action in grants.admin
} else := {
	"reason": "principal holds no known role",
	"hint": role_hint,
} if {
	count(held_roles) == 0
} else := {
	"reason": concat("", [role_phrase, " may not ", input.action]),
	"hint": role_hint,
}

reason := outcome.reason

hint := outcome.hint

decision := {"allow": allow, "reason": reason, "hint": hint}
