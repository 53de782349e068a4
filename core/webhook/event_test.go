package webhook_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/gokinde/kinde/core/webhook"
)

func TestEventAccessors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		read    func(webhook.Event) (any, error)
		want    any
		wantErr error
		typeErr bool // want a *json.UnmarshalTypeError
	}{
		{name: "user", data: `{"user":{"id":"kp_1","email":"a@b.c","phone":null,"username":null,"organizations":[{"code":"org_1","roles":[{"id":"r1","key":"admin"}],"permissions":null}]}}`,
			read: func(e webhook.Event) (any, error) { return e.User() },
			want: webhook.User{ID: "kp_1", Email: "a@b.c", Organizations: []webhook.Membership{{Code: "org_1", Roles: []webhook.RoleRef{{ID: "r1", Key: "admin"}}}}}},
		// Older payloads (and older copies of kinde-oss/webhook lib/types.ts)
		// listed role keys as strings.
		{name: "roles as strings", data: `{"user":{"id":"kp_1","organizations":[{"code":"org_1","roles":["admin",null,{"id":"r2","key":"viewer"}]}]}}`,
			read: func(e webhook.Event) (any, error) { return e.User() },
			want: webhook.User{ID: "kp_1", Organizations: []webhook.Membership{{Code: "org_1", Roles: []webhook.RoleRef{{Key: "admin"}, {}, {ID: "r2", Key: "viewer"}}}}}},
		{name: "organization", data: `{"organization":{"code":"org_1","name":"Acme","handle":"acme","external_id":null,"is_allow_registrations":true}}`,
			read: func(e webhook.Event) (any, error) { return e.Organization() },
			want: webhook.Organization{Code: "org_1", Name: "Acme", Handle: "acme", IsAllowRegistrations: true}},
		{name: "role", data: `{"role":{"id":"r1","key":"admin","name":"Admin","description":"","is_default_role":true}}`,
			read: func(e webhook.Event) (any, error) { return e.Role() },
			want: webhook.Role{ID: "r1", Key: "admin", Name: "Admin", IsDefaultRole: true}},
		{name: "permission", data: `{"permission":{"id":"p1","key":"read:x","name":"Read","description":"d"}}`,
			read: func(e webhook.Event) (any, error) { return e.Permission() },
			want: webhook.Permission{ID: "p1", Key: "read:x", Name: "Read", Description: "d"}},
		{name: "subscriber", data: `{"subscriber":{"id":"s1","user_id":"kp_1","email":"a@b.c","first_name":"A","last_name":"B"}}`,
			read: func(e webhook.Event) (any, error) { return e.Subscriber() },
			want: webhook.Subscriber{ID: "s1", UserID: "kp_1", Email: "a@b.c", FirstName: "A", LastName: "B"}},
		{name: "access request", data: `{"access_request":{"user_id":"kp_1","email":"a@b.c","first_name":"A","last_name":"B"}}`,
			read: func(e webhook.Event) (any, error) { return e.AccessRequest() },
			want: webhook.AccessRequest{UserID: "kp_1", Email: "a@b.c", FirstName: "A", LastName: "B"}},
		{name: "deleted user", data: `{"user":{"id":"kp_1"}}`,
			read: func(e webhook.Event) (any, error) { return e.User() }, want: webhook.User{ID: "kp_1"}},
		{name: "no data", data: ``, read: func(e webhook.Event) (any, error) { return e.User() }, wantErr: webhook.ErrMalformed},
		{name: "another event's data", data: `{"role":{"id":"r1"}}`, read: func(e webhook.Event) (any, error) { return e.User() }, wantErr: webhook.ErrMalformed},
		{name: "null member", data: `{"user":null}`, read: func(e webhook.Event) (any, error) { return e.User() }, wantErr: webhook.ErrMalformed},
		{name: "data not an object", data: `[1]`, read: func(e webhook.Event) (any, error) { return e.Role() }, typeErr: true},
		{name: "wrong shape", data: `{"user":[]}`, read: func(e webhook.Event) (any, error) { return e.User() }, typeErr: true},
		{name: "role of the wrong kind", data: `{"user":{"organizations":[{"roles":[7]}]}}`, read: func(e webhook.Event) (any, error) { return e.User() }, typeErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data json.RawMessage
			if tt.data != "" {
				data = json.RawMessage(tt.data)
			}
			got, err := tt.read(webhook.Event{ID: "event_1", Type: "x", Data: data})
			var typeErr *json.UnmarshalTypeError
			switch {
			case tt.typeErr:
				if !errors.As(err, &typeErr) {
					t.Errorf("error %v, want a JSON type error", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !reflect.DeepEqual(got, tt.want):
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEventDecode(t *testing.T) {
	type plan struct {
		PlanCode string `json:"plan_code"`
	}
	tests := []struct {
		name    string
		data    json.RawMessage
		want    plan
		wantErr bool
		isErr   error
	}{
		{name: "into a type of your own", data: json.RawMessage(`{"plan_code":"pro","other":1}`), want: plan{PlanCode: "pro"}},
		{name: "no data", wantErr: true, isErr: webhook.ErrMalformed},
		{name: "not JSON of that type", data: json.RawMessage(`"pro"`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got plan
			err := webhook.Event{ID: "event_1", Type: webhook.CustomerPlanAssigned, Data: tt.data}.Decode(&got)
			switch {
			case tt.wantErr && (err == nil || tt.isErr != nil && !errors.Is(err, tt.isErr)):
				t.Errorf("error %v, want one (%v)", err, tt.isErr)
			case !tt.wantErr && (err != nil || got != tt.want):
				t.Errorf("decoded %+v error %v, want %+v", got, err, tt.want)
			}
		})
	}
}

// TestEventTypes checks the constants against the lists they come from.
func TestEventTypes(t *testing.T) {
	// kinde-oss/webhook lib/types.ts (HEAD), enum WebhookEventType.
	fromPackage := []string{
		"organization.created", "organization.updated", "user.created", "user.updated", "user.deleted",
		"user.authentication_failed", "user.authenticated", "organization.deleted", "role.created",
		"role.updated", "role.deleted", "permission.created", "permission.updated", "permission.deleted",
		"subscriber.created", "access_request.created",
	}
	// docs.kinde.com/integrate/webhooks/add-manage-webhooks, "Webhook triggers".
	fromDocs := []string{
		"organization.created", "user.created", "user.authentication_failed", "user.authenticated",
		"subscriber.created", "access_request.created",
		"passkey.added", "passkey.removed",
		"role.created", "role.updated", "role.deleted", "permission.created", "permission.updated",
		"permission.deleted", "organization.updated", "organization.deleted", "user.updated", "user.deleted",
		"customer.agreement_cancelled", "customer.agreement_created", "customer.invoice_overdue",
		"customer.meter_usage_updated", "customer.payment_failed", "customer.payment_succeeded",
		"customer.plan_created", "customer.plan_assigned", "customer.plan_changed",
	}
	constants := map[string]bool{}
	for _, c := range []string{
		webhook.UserCreated, webhook.UserUpdated, webhook.UserDeleted, webhook.UserAuthenticated, webhook.UserAuthenticationFailed,
		webhook.OrganizationCreated, webhook.OrganizationUpdated, webhook.OrganizationDeleted,
		webhook.RoleCreated, webhook.RoleUpdated, webhook.RoleDeleted,
		webhook.PermissionCreated, webhook.PermissionUpdated, webhook.PermissionDeleted,
		webhook.SubscriberCreated, webhook.AccessRequestCreated,
		webhook.PasskeyAdded, webhook.PasskeyRemoved,
		webhook.CustomerAgreementCancelled, webhook.CustomerAgreementCreated, webhook.CustomerInvoiceOverdue,
		webhook.CustomerMeterUsageUpdated, webhook.CustomerPaymentFailed, webhook.CustomerPaymentSucceeded,
		webhook.CustomerPlanCreated, webhook.CustomerPlanAssigned, webhook.CustomerPlanChanged,
	} {
		if constants[c] {
			t.Errorf("%s defined twice", c)
		}
		constants[c] = true
	}
	listed := map[string]bool{}
	for _, typ := range append(fromPackage, fromDocs...) {
		listed[typ] = true
		if !constants[typ] {
			t.Errorf("no constant for %s", typ)
		}
	}
	for c := range constants {
		if !listed[c] {
			t.Errorf("constant %s is in neither list", c)
		}
	}
}
