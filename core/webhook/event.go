package webhook

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is a verified webhook event.
type Event struct {
	// ID is the event id (event_id, "event_…"), part of the signed payload.
	// It stays the same across Kinde's retries of the event, and the
	// Receiver remembers it to run the handlers of an event once. Kinde's
	// Management API returns the event again at GET /api/v1/events/{id}.
	ID string
	// Type is the event type, one of the constants of this package (e.g.
	// UserCreated) or a type Kinde added later.
	Type string
	// Source says who caused the event: SourceAdmin, SourceAPI or
	// SourceUser; empty when the payload has none.
	Source string
	// Timestamp is when Kinde sent the event (timestamp), with the offset
	// Kinde wrote; the replay window is measured from it.
	Timestamp time.Time
	// EventTimestamp is when the event happened (event_timestamp); zero
	// when absent.
	EventTimestamp time.Time
	// IPAddress is the address the user signed in from (ip_address), sent
	// with UserAuthenticated and UserAuthenticationFailed; empty otherwise.
	IPAddress string
	// WebhookID is the request's webhook-id header, for logs and support
	// requests to Kinde. It is not signed: nothing in this package relies
	// on it. Empty when the request had none.
	WebhookID string
	// Data is the raw data member, nil when absent or null. Read it with
	// the typed accessors (User, Organization, …) or Decode.
	Data json.RawMessage
}

// Decode unmarshals the event's data into v, a pointer to a type of your
// own: for the billing and passkey events, whose data Kinde does not
// document, or to read members this package does not model. An event
// without data gives an error wrapping ErrMalformed.
func (e Event) Decode(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("%w: event %s (%s) has no data", ErrMalformed, e.ID, e.Type)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("webhook: event %s (%s): decoding data: %w", e.ID, e.Type, err)
	}
	return nil
}

// User returns the user of a user.* event (data.user). UserDeleted,
// UserAuthenticated and UserAuthenticationFailed carry only the user's id.
// An event without a user gives an error wrapping ErrMalformed.
func (e Event) User() (User, error) {
	var u User
	return u, e.member("user", &u)
}

// Organization returns the organization of an organization.* event
// (data.organization). OrganizationDeleted carries only the code.
func (e Event) Organization() (Organization, error) {
	var o Organization
	return o, e.member("organization", &o)
}

// Role returns the role of a role.* event (data.role). RoleDeleted carries
// only the id.
func (e Event) Role() (Role, error) {
	var r Role
	return r, e.member("role", &r)
}

// Permission returns the permission of a permission.* event
// (data.permission). PermissionDeleted carries only the id.
func (e Event) Permission() (Permission, error) {
	var p Permission
	return p, e.member("permission", &p)
}

// Subscriber returns the subscriber of a SubscriberCreated event
// (data.subscriber).
func (e Event) Subscriber() (Subscriber, error) {
	var s Subscriber
	return s, e.member("subscriber", &s)
}

// AccessRequest returns the request of an AccessRequestCreated event
// (data.access_request).
func (e Event) AccessRequest() (AccessRequest, error) {
	var a AccessRequest
	return a, e.member("access_request", &a)
}

// member decodes data.<name> into v.
func (e Event) member(name string, v any) error {
	var members map[string]json.RawMessage
	if err := e.Decode(&members); err != nil {
		return err
	}
	raw, ok := members[name]
	if !ok || string(raw) == "null" {
		return fmt.Errorf("%w: event %s (%s) has no data.%s", ErrMalformed, e.ID, e.Type, name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("webhook: event %s (%s): decoding data.%s: %w", e.ID, e.Type, name, err)
	}
	return nil
}

// Sources of events (Event.Source).
const (
	// SourceAdmin marks a change made in the Kinde dashboard.
	SourceAdmin = "admin"
	// SourceAPI marks a change made through the Management API.
	SourceAPI = "api"
	// SourceUser marks something a user did (signing up or in).
	SourceUser = "user"
)

// Event types: every type in Kinde's webhook docs (Settings > Environment >
// Webhooks triggers, docs.kinde.com/integrate/webhooks/add-manage-webhooks)
// and in @kinde/webhooks (kinde-oss/webhook, lib/types.ts). The comment of
// each names the accessor its data is read with.
const (
	// UserCreated: a user was created (not sent for imported users). Event.User.
	UserCreated = "user.created"
	// UserUpdated: a user's details changed. Event.User.
	UserUpdated = "user.updated"
	// UserDeleted: a user was deleted. Event.User, with only the id.
	UserDeleted = "user.deleted"
	// UserAuthenticated: a user signed in. Event.User, with only the id;
	// Event.IPAddress is where from.
	UserAuthenticated = "user.authenticated"
	// UserAuthenticationFailed: a sign-in failed. Event.User, with only
	// the id; Event.IPAddress is where from.
	UserAuthenticationFailed = "user.authentication_failed"

	// OrganizationCreated: an organization was created. Event.Organization.
	OrganizationCreated = "organization.created"
	// OrganizationUpdated: an organization changed. Event.Organization.
	OrganizationUpdated = "organization.updated"
	// OrganizationDeleted: an organization was deleted. Event.Organization,
	// with only the code.
	OrganizationDeleted = "organization.deleted"

	// RoleCreated: a role was created. Event.Role.
	RoleCreated = "role.created"
	// RoleUpdated: a role changed. Event.Role.
	RoleUpdated = "role.updated"
	// RoleDeleted: a role was deleted. Event.Role, with only the id.
	RoleDeleted = "role.deleted"

	// PermissionCreated: a permission was created. Event.Permission.
	PermissionCreated = "permission.created"
	// PermissionUpdated: a permission changed. Event.Permission.
	PermissionUpdated = "permission.updated"
	// PermissionDeleted: a permission was deleted. Event.Permission, with
	// only the id.
	PermissionDeleted = "permission.deleted"

	// SubscriberCreated: someone subscribed (e.g. to a mailing list).
	// Event.Subscriber.
	SubscriberCreated = "subscriber.created"
	// AccessRequestCreated: someone asked for access. Event.AccessRequest.
	AccessRequestCreated = "access_request.created"

	// Passkey events. Kinde does not document their data: read it with
	// Event.Decode into a type of your own or a map.

	// PasskeyAdded: a user added a passkey.
	PasskeyAdded = "passkey.added"
	// PasskeyRemoved: a user removed a passkey.
	PasskeyRemoved = "passkey.removed"

	// Billing events. Kinde does not document their data: read it with
	// Event.Decode into a type of your own or a map.

	// CustomerAgreementCancelled: a subscription was cancelled.
	CustomerAgreementCancelled = "customer.agreement_cancelled"
	// CustomerAgreementCreated: a customer signed up to or changed plan.
	CustomerAgreementCreated = "customer.agreement_created"
	// CustomerInvoiceOverdue: an invoice became overdue.
	CustomerInvoiceOverdue = "customer.invoice_overdue"
	// CustomerMeterUsageUpdated: metered usage changed.
	CustomerMeterUsageUpdated = "customer.meter_usage_updated"
	// CustomerPaymentFailed: a payment failed.
	CustomerPaymentFailed = "customer.payment_failed"
	// CustomerPaymentSucceeded: a payment succeeded.
	CustomerPaymentSucceeded = "customer.payment_succeeded"
	// CustomerPlanCreated: a plan was created.
	CustomerPlanCreated = "customer.plan_created"
	// CustomerPlanAssigned: a plan was assigned to a customer.
	CustomerPlanAssigned = "customer.plan_assigned"
	// CustomerPlanChanged: a customer's plan changed.
	CustomerPlanChanged = "customer.plan_changed"
)
