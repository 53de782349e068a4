package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Entitlement is a billing entitlement of the user's organization.
type Entitlement struct {
	ID string
	// FixedCharge is the price charged for a fixed-charge entitlement; nil
	// when Kinde sent none.
	FixedCharge *int64
	PriceName   string
	// UnitAmount is the price per unit in cents; nil when Kinde sent none.
	UnitAmount  *int64
	FeatureKey  string
	FeatureName string
	// LimitMax and LimitMin are the entitled units; nil means no limit.
	LimitMax *int64
	LimitMin *int64
}

// Plan is a billing plan the organization subscribes to.
type Plan struct {
	Key  string
	Name string
	// SubscribedOn is when the organization subscribed. Kinde's spec says
	// RFC 3339, but other forms are read too: without seconds
	// ("2025-06-01T12:00Z"), without a zone (taken as UTC), a bare date
	// ("2024-01-01") or Unix seconds. It is zero when Kinde sent nothing or
	// a form not listed here; SubscribedOnRaw still holds it.
	SubscribedOn time.Time
	// SubscribedOnRaw is subscribed_on as Kinde sent it ("" when absent or
	// null).
	SubscribedOnRaw string
}

// EntitlementsResult is the whole entitlements listing of an organization.
type EntitlementsResult struct {
	OrgCode string
	// Plans and Entitlements are never nil.
	Plans        []Plan
	Entitlements []Entitlement
}

// ByFeatureKey returns the entitlement with the feature key, for conditions
// on its fields (limits, charges) after one AllEntitlements call.
func (r *EntitlementsResult) ByFeatureKey(featureKey string) (Entitlement, bool) {
	return r.find(func(e Entitlement) string { return e.FeatureKey }, featureKey)
}

// ByPriceName returns the entitlement with the price name, the key
// HasBillingEntitlements matches on.
func (r *EntitlementsResult) ByPriceName(priceName string) (Entitlement, bool) {
	return r.find(func(e Entitlement) string { return e.PriceName }, priceName)
}

func (r *EntitlementsResult) find(field func(Entitlement) string, want string) (Entitlement, bool) {
	if r == nil || want == "" {
		return Entitlement{}, false
	}
	for _, e := range r.Entitlements {
		if field(e) == want {
			return e, true
		}
	}
	return Entitlement{}, false
}

// --- wire shapes (Account API spec get_entitlements_response) ---

// wholeNumber is a nullable integer field read leniently: an integer, a
// float holding a whole number, or either as a string. Anything else is an
// error, so that a limit is never silently read as "no limit".
type wholeNumber struct{ v *int64 }

func (w *wholeNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		w.v = nil
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		text = strings.TrimSpace(text)
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		w.v = &i
		return nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return fmt.Errorf("%s is not a whole number", clip(string(b), 40))
	}
	i := int64(f)
	w.v = &i
	return nil
}

type wireEntitlement struct {
	ID          string      `json:"id"`
	FixedCharge wholeNumber `json:"fixed_charge"`
	PriceName   string      `json:"price_name"`
	UnitAmount  wholeNumber `json:"unit_amount"`
	FeatureKey  string      `json:"feature_key"`
	FeatureName string      `json:"feature_name"`
	LimitMax    wholeNumber `json:"entitlement_limit_max"`
	LimitMin    wholeNumber `json:"entitlement_limit_min"`
}

func (w wireEntitlement) entitlement() Entitlement {
	return Entitlement{ID: w.ID, FixedCharge: w.FixedCharge.v, PriceName: w.PriceName, UnitAmount: w.UnitAmount.v,
		FeatureKey: w.FeatureKey, FeatureName: w.FeatureName, LimitMax: w.LimitMax.v, LimitMin: w.LimitMin.v}
}

type wirePlan struct {
	Key          string          `json:"key"`
	Name         string          `json:"name"`
	SubscribedOn json.RawMessage `json:"subscribed_on"`
}

func (w wirePlan) plan() Plan {
	p := Plan{Key: w.Key, Name: w.Name}
	p.SubscribedOn, p.SubscribedOnRaw = parseDate(w.SubscribedOn)
	return p
}

type entitlementsData struct {
	OrgCode      string            `json:"org_code"`
	Plans        []wirePlan        `json:"plans"`
	Entitlements []wireEntitlement `json:"entitlements"`
}

// dateLayouts are the forms parseDate understands, most likely first.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseDate reads a date sent as a string in one of dateLayouts (no zone
// means UTC) or as Unix seconds. It never fails: a value it cannot read
// gives the zero time, with the raw text kept.
func parseDate(raw json.RawMessage) (time.Time, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return time.Time{}, ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		// Not a string: a number of Unix seconds, or something else kept raw.
		text := string(raw)
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && n > 0 && n < 1e11 {
			return time.Unix(n, 0).UTC(), text
		}
		return time.Time{}, text
	}
	v := strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, s
		}
	}
	return time.Time{}, s
}

// --- calls ---

// Entitlements lists the entitlements of the user's organization, reading
// every page (see WithPageSize) as the loop asks for more. An error is
// yielded once, last.
//
//	for e, err := range acct.Entitlements(ctx) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(e.FeatureKey)
//	}
func (c *Client) Entitlements(ctx context.Context, opts ...Option) iter.Seq2[Entitlement, error] {
	p := options(opts)
	return func(yield func(Entitlement, error) bool) {
		more := true
		err := paginate(ctx, c, "entitlements", p, func(d entitlementsData) bool {
			for _, e := range d.Entitlements {
				if more = yield(e.entitlement(), nil); !more {
					return false
				}
			}
			return true
		})
		if err != nil && more {
			yield(Entitlement{}, err)
		}
	}
}

// AllEntitlements returns every entitlement of the user's organization with
// its plans and org code (js-utils' getEntitlements). A plan listed on
// several pages appears once.
func (c *Client) AllEntitlements(ctx context.Context, opts ...Option) (*EntitlementsResult, error) {
	res := &EntitlementsResult{Plans: []Plan{}, Entitlements: []Entitlement{}}
	plans := map[string]bool{}
	err := paginate(ctx, c, "entitlements", options(opts), func(d entitlementsData) bool {
		if res.OrgCode == "" {
			res.OrgCode = d.OrgCode
		}
		for _, pl := range d.Plans {
			if !plans[pl.Key] {
				plans[pl.Key] = true
				res.Plans = append(res.Plans, pl.plan())
			}
		}
		for _, e := range d.Entitlements {
			res.Entitlements = append(res.Entitlements, e.entitlement())
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Entitlement returns the entitlement with the feature key of the user's
// organization (GET /account_api/v1/entitlement/{key}). When there is none
// the error wraps ErrEntitlementNotFound.
func (c *Client) Entitlement(ctx context.Context, featureKey string) (*Entitlement, error) {
	if featureKey == "" {
		return nil, errors.New("account: Entitlement needs a feature key")
	}
	var pg page[struct {
		OrgCode     string           `json:"org_code"`
		Entitlement *wireEntitlement `json:"entitlement"`
	}]
	err := c.get(ctx, "entitlement/"+url.PathEscape(featureKey), nil, &pg)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("account: entitlement %q: %w (%w)", featureKey, ErrEntitlementNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	if pg.Data.Entitlement == nil {
		return nil, fmt.Errorf("account: entitlement %q: %w", featureKey, ErrEntitlementNotFound)
	}
	e := pg.Data.Entitlement.entitlement()
	return &e, nil
}

// EntitlementLimit returns the maximum units of the entitlement with the
// feature key; ok is false when the entitlement has no maximum. When there
// is no such entitlement the error wraps ErrEntitlementNotFound.
func (c *Client) EntitlementLimit(ctx context.Context, featureKey string) (limit int64, ok bool, err error) {
	e, err := c.Entitlement(ctx, featureKey)
	if err != nil {
		return 0, false, err
	}
	if e.LimitMax == nil {
		return 0, false, nil
	}
	return *e.LimitMax, true, nil
}

// HasEntitlements reports whether the organization has an entitlement for
// every one of the feature keys. With no keys it reports true without
// calling Kinde. An error is returned with false, never hidden.
func (c *Client) HasEntitlements(ctx context.Context, featureKeys ...string) (bool, error) {
	return c.hasEntitlements(ctx, featureKeys, func(e Entitlement) string { return e.FeatureKey })
}

// HasBillingEntitlements reports whether the organization has an
// entitlement for every one of the price names, as js-utils'
// hasBillingEntitlements matches them. With no names it reports true
// without calling Kinde. For conditions on an entitlement's fields, call
// AllEntitlements and use EntitlementsResult.ByPriceName.
func (c *Client) HasBillingEntitlements(ctx context.Context, priceNames ...string) (bool, error) {
	return c.hasEntitlements(ctx, priceNames, func(e Entitlement) string { return e.PriceName })
}

func (c *Client) hasEntitlements(ctx context.Context, want []string, field func(Entitlement) string) (bool, error) {
	if len(want) == 0 {
		return true, nil
	}
	have := map[string]bool{}
	for e, err := range c.Entitlements(ctx) {
		if err != nil {
			return false, err
		}
		if k := field(e); k != "" {
			have[k] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			return false, nil
		}
	}
	return true, nil
}
