package webhook

import "encoding/json"

// The shapes below follow @kinde/webhooks (kinde-oss/webhook, lib/types.ts)
// and Kinde's example payload (docs.kinde.com/integrate/webhooks/about-webhooks).
// Members Kinde sends as null, or leaves out, are left at their zero value.

// User is a user as the user.* events describe it.
type User struct {
	ID                       string       `json:"id"`
	Email                    string       `json:"email"`
	Username                 string       `json:"username"`
	Phone                    string       `json:"phone"`
	FirstName                string       `json:"first_name"`
	LastName                 string       `json:"last_name"`
	IsSuspended              bool         `json:"is_suspended"`
	IsPasswordResetRequested bool         `json:"is_password_reset_requested"`
	Organizations            []Membership `json:"organizations"`
}

// Membership is a user's membership of an organization, with the roles and
// permissions the user holds there (nil when Kinde sends null).
type Membership struct {
	Code        string          `json:"code"`
	Roles       []RoleRef       `json:"roles"`
	Permissions []PermissionRef `json:"permissions"`
}

// RoleRef names a role by id and key.
type RoleRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// UnmarshalJSON reads a role as Kinde sends it today, {"id": …, "key": …},
// and also as a bare string (the key), the shape older payloads used.
func (r *RoleRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var key string
		if err := json.Unmarshal(b, &key); err != nil {
			return err
		}
		*r = RoleRef{Key: key}
		return nil
	}
	type plain RoleRef
	return json.Unmarshal(b, (*plain)(r))
}

// PermissionRef names a permission by id and key.
type PermissionRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Organization is an organization as the organization.* events describe it.
type Organization struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Handle     string `json:"handle"`
	ExternalID string `json:"external_id"`
	// IsAllowRegistrations is sent with OrganizationUpdated only.
	IsAllowRegistrations bool `json:"is_allow_registrations"`
}

// Role is a role as the role.* events describe it.
type Role struct {
	ID            string `json:"id"`
	Key           string `json:"key"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	IsDefaultRole bool   `json:"is_default_role"`
}

// Permission is a permission as the permission.* events describe it.
type Permission struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Subscriber is a subscriber as SubscriberCreated describes it.
type Subscriber struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// AccessRequest is a request for access as AccessRequestCreated describes it.
type AccessRequest struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}
