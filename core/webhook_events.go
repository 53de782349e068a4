package kinde

import (
	"encoding/json"
	"fmt"
	"time"
)

// WebhookEvent is a verified webhook event.
type WebhookEvent struct {
	// ID is the event id (event_id, "event_…"); Kinde's Management API
	// returns the event again at GET /api/v1/events/{id}.
	ID string
	// Type is the event type, e.g. EventUserCreated.
	Type string
	// Source says who caused the event: WebhookSourceAdmin, WebhookSourceAPI
	// or WebhookSourceUser.
	Source string
	// Timestamp is when Kinde sent the event (timestamp); the replay window
	// is measured from it.
	Timestamp time.Time
	// EventTimestamp is when the event happened (event_timestamp); zero when
	// absent.
	EventTimestamp time.Time
	// WebhookID is the delivery id from the webhook-id header, the same for
	// every retry of the event to one endpoint; empty when the request had
	// none.
	WebhookID string
	// Data is the raw data member; read it with Decode.
	Data json.RawMessage
}

// Decode unmarshals the event's data into v, typically a pointer to the
// data type of the event (UserEventData for user events, and so on).
func (e WebhookEvent) Decode(v any) error {
	if len(e.Data) == 0 || isNull(e.Data) {
		return fmt.Errorf("kinde: webhook event %s (%s) has no data: %w", e.ID, e.Type, ErrWebhookMalformed)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("kinde: webhook event %s (%s): decoding data: %w", e.ID, e.Type, err)
	}
	return nil
}

// Sources of webhook events (WebhookEvent.Source).
const (
	// WebhookSourceAdmin marks a change made in the Kinde dashboard.
	WebhookSourceAdmin = "admin"
	// WebhookSourceAPI marks a change made through the Management API.
	WebhookSourceAPI = "api"
	// WebhookSourceUser marks something a user did (signing up or in).
	WebhookSourceUser = "user"
)

// Webhook event types Kinde documents. The comment of each names the type
// its data decodes into.
const (
	// EventUserCreated: a user was created (not sent for imported users). UserEventData.
	EventUserCreated = "user.created"
	// EventUserUpdated: a user's details changed. UserEventData.
	EventUserUpdated = "user.updated"
	// EventUserDeleted: a user was deleted. UserEventData with only User.ID.
	EventUserDeleted = "user.deleted"
	// EventUserAuthenticated: a user signed in. UserEventData with only User.ID.
	EventUserAuthenticated = "user.authenticated"
	// EventUserAuthenticationFailed: a sign-in failed. UserEventData with only User.ID.
	EventUserAuthenticationFailed = "user.authentication_failed"

	// EventOrganizationCreated: an organization was created. OrganizationEventData.
	EventOrganizationCreated = "organization.created"
	// EventOrganizationUpdated: an organization changed. OrganizationEventData.
	EventOrganizationUpdated = "organization.updated"
	// EventOrganizationDeleted: an organization was deleted. OrganizationEventData with only Organization.Code.
	EventOrganizationDeleted = "organization.deleted"

	// EventRoleCreated: a role was created. RoleEventData.
	EventRoleCreated = "role.created"
	// EventRoleUpdated: a role changed. RoleEventData.
	EventRoleUpdated = "role.updated"
	// EventRoleDeleted: a role was deleted. RoleEventData with only Role.ID.
	EventRoleDeleted = "role.deleted"

	// EventPermissionCreated: a permission was created. PermissionEventData.
	EventPermissionCreated = "permission.created"
	// EventPermissionUpdated: a permission changed. PermissionEventData.
	EventPermissionUpdated = "permission.updated"
	// EventPermissionDeleted: a permission was deleted. PermissionEventData with only Permission.ID.
	EventPermissionDeleted = "permission.deleted"

	// EventSubscriberCreated: someone subscribed (e.g. to a mailing list). SubscriberEventData.
	EventSubscriberCreated = "subscriber.created"
	// EventAccessRequestCreated: someone asked for access. AccessRequestEventData.
	EventAccessRequestCreated = "access_request.created"

	// Billing events. Kinde does not document their data; decode it into
	// a type of your own or a map.

	// EventCustomerAgreementCancelled: a subscription was cancelled.
	EventCustomerAgreementCancelled = "customer.agreement_cancelled"
	// EventCustomerAgreementCreated: a customer signed up to or changed plan.
	EventCustomerAgreementCreated = "customer.agreement_created"
	// EventCustomerInvoiceOverdue: an invoice became overdue.
	EventCustomerInvoiceOverdue = "customer.invoice_overdue"
	// EventCustomerMeterUsageUpdated: metered usage changed.
	EventCustomerMeterUsageUpdated = "customer.meter_usage_updated"
	// EventCustomerPaymentFailed: a payment failed.
	EventCustomerPaymentFailed = "customer.payment_failed"
	// EventCustomerPaymentSucceeded: a payment succeeded.
	EventCustomerPaymentSucceeded = "customer.payment_succeeded"
	// EventCustomerPlanCreated: a plan was created.
	EventCustomerPlanCreated = "customer.plan_created"
	// EventCustomerPlanAssigned: a plan was assigned to a customer.
	EventCustomerPlanAssigned = "customer.plan_assigned"
	// EventCustomerPlanChanged: a customer's plan changed.
	EventCustomerPlanChanged = "customer.plan_changed"
)

// UserEventData is the data of the user.* events. Deletions and
// (failed) sign-ins carry only the user's id.
type UserEventData struct {
	User WebhookUser `json:"user"`
}

// WebhookUser is a user as webhook events describe it. Absent or null
// members are left empty.
type WebhookUser struct {
	ID                       string                    `json:"id"`
	Email                    string                    `json:"email"`
	Username                 string                    `json:"username"`
	Phone                    string                    `json:"phone"`
	FirstName                string                    `json:"first_name"`
	LastName                 string                    `json:"last_name"`
	IsSuspended              bool                      `json:"is_suspended"`
	IsPasswordResetRequested bool                      `json:"is_password_reset_requested"`
	Organizations            []WebhookUserOrganization `json:"organizations"`
}

// WebhookUserOrganization is a user's membership of an organization, with
// the role keys and permissions the user holds there.
type WebhookUserOrganization struct {
	Code        string                 `json:"code"`
	Roles       []string               `json:"roles"`
	Permissions []WebhookPermissionRef `json:"permissions"`
}

// WebhookPermissionRef names a permission by id and key.
type WebhookPermissionRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// OrganizationEventData is the data of the organization.* events.
type OrganizationEventData struct {
	Organization WebhookOrganization `json:"organization"`
}

// WebhookOrganization is an organization as webhook events describe it.
// Deletions carry only the code.
type WebhookOrganization struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Handle     string `json:"handle"`
	ExternalID string `json:"external_id"`
	// IsAllowRegistrations is sent with organization.updated only.
	IsAllowRegistrations bool `json:"is_allow_registrations"`
}

// RoleEventData is the data of the role.* events.
type RoleEventData struct {
	Role WebhookRole `json:"role"`
}

// WebhookRole is a role as webhook events describe it. Deletions carry
// only the id.
type WebhookRole struct {
	ID            string `json:"id"`
	Key           string `json:"key"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	IsDefaultRole bool   `json:"is_default_role"`
}

// PermissionEventData is the data of the permission.* events.
type PermissionEventData struct {
	Permission WebhookPermission `json:"permission"`
}

// WebhookPermission is a permission as webhook events describe it.
// Deletions carry only the id.
type WebhookPermission struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// SubscriberEventData is the data of subscriber.created.
type SubscriberEventData struct {
	Subscriber WebhookSubscriber `json:"subscriber"`
}

// WebhookSubscriber is a subscriber as subscriber.created describes it.
type WebhookSubscriber struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// AccessRequestEventData is the data of access_request.created.
type AccessRequestEventData struct {
	AccessRequest WebhookAccessRequest `json:"access_request"`
}

// WebhookAccessRequest is a request for access as access_request.created
// describes it.
type WebhookAccessRequest struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}
