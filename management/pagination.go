package management

import (
	"context"
	"fmt"
	"iter"

	"github.com/gokinde/kinde/management/api"
)

// Page is one page of a list reply. Next is the cursor for the following page: the next_token
// of the reply for endpoints paged with next_token, the id of the last item for endpoints paged
// with starting_after. An empty Next ends the listing.
type Page[T any] struct {
	Items []T
	Next  string
}

// PageFunc fetches the page that starts at cursor; the first page has cursor "".
type PageFunc[T any] func(ctx context.Context, cursor string) (Page[T], error)

// Paginate iterates over every item of a list endpoint, fetching pages as the loop needs them.
// Any list operation of the generated client can be iterated by wrapping it in a PageFunc built
// with NextTokenPage or StartingAfterPage. An error ends the iteration after being yielded once.
func Paginate[T any](ctx context.Context, fetch PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		cursor := ""
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			page, err := fetch(ctx, cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			if page.Next == cursor {
				yield(zero, fmt.Errorf("kinde management: pagination did not advance: cursor %q was returned twice", cursor))
				return
			}
			cursor = page.Next
		}
	}
}

// NextTokenPage builds a Page from a reply paged with next_token.
func NextTokenPage[T any](items *[]T, nextToken *string) Page[T] {
	return Page[T]{Items: deref(items), Next: deref(nextToken)}
}

// StartingAfterPage builds a Page from a reply paged with starting_after: the next cursor is the
// id of the last item, unless the reply says has_more is false or holds no item. hasMore may be
// nil for replies without that field.
func StartingAfterPage[T any](items *[]T, hasMore *bool, id func(T) *string) Page[T] {
	p := Page[T]{Items: deref(items)}
	if len(p.Items) == 0 || (hasMore != nil && !*hasMore) {
		return p
	}
	p.Next = deref(id(p.Items[len(p.Items)-1]))
	return p
}

// cursorParam returns the query value for cursor: the caller's own starting value for the first
// page, the cursor after that.
func cursorParam(cursor string, initial *string) *string {
	if cursor == "" {
		return initial
	}
	return &cursor
}

// decoded returns the decoded 2xx body of a generated reply, or the call's error.
func decoded[R interface{ StatusCode() int }, T any](res R, err error, body func(R) *T) (*T, error) {
	if err != nil {
		return nil, err
	}
	if b := body(res); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("kinde management: unexpected reply: status %d without the expected JSON body", res.StatusCode())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Users iterates over the users of the business (GET /api/v1/users). params sets filters and
// the page size; the iterator sets NextToken for the pages after the first.
func (c *Client) Users(ctx context.Context, params api.GetUsersParams) iter.Seq2[api.UsersResponse_Users, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.UsersResponse_Users], error) {
		p := params
		p.NextToken = cursorParam(cursor, p.NextToken)
		res, err := c.api.GetUsersWithResponse(ctx, &p)
		body, err := decoded(res, err, func(r *api.GetUsersResult) *api.UsersResponse { return r.JSON200 })
		if err != nil {
			return Page[api.UsersResponse_Users]{}, err
		}
		return NextTokenPage(body.Users, body.NextToken), nil
	})
}

// Organizations iterates over the organizations of the business (GET /api/v1/organizations).
func (c *Client) Organizations(ctx context.Context, params api.GetOrganizationsParams) iter.Seq2[api.OrganizationItemSchema, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.OrganizationItemSchema], error) {
		p := params
		p.NextToken = cursorParam(cursor, p.NextToken)
		res, err := c.api.GetOrganizationsWithResponse(ctx, &p)
		body, err := decoded(res, err, func(r *api.GetOrganizationsResult) *api.GetOrganizationsResponse { return r.JSON200 })
		if err != nil {
			return Page[api.OrganizationItemSchema]{}, err
		}
		return NextTokenPage(body.Organizations, body.NextToken), nil
	})
}

// OrganizationUsers iterates over the members of an organization
// (GET /api/v1/organizations/{org_code}/users).
func (c *Client) OrganizationUsers(ctx context.Context, orgCode string, params api.GetOrganizationUsersParams) iter.Seq2[api.OrganizationUser, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.OrganizationUser], error) {
		p := params
		p.NextToken = cursorParam(cursor, p.NextToken)
		res, err := c.api.GetOrganizationUsersWithResponse(ctx, orgCode, &p)
		body, err := decoded(res, err, func(r *api.GetOrganizationUsersResult) *api.GetOrganizationUsersResponse { return r.JSON200 })
		if err != nil {
			return Page[api.OrganizationUser]{}, err
		}
		return NextTokenPage(body.OrganizationUsers, body.NextToken), nil
	})
}

// Roles iterates over the roles of the business (GET /api/v1/roles).
func (c *Client) Roles(ctx context.Context, params api.GetRolesParams) iter.Seq2[api.Roles, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.Roles], error) {
		p := params
		p.NextToken = cursorParam(cursor, p.NextToken)
		res, err := c.api.GetRolesWithResponse(ctx, &p)
		body, err := decoded(res, err, func(r *api.GetRolesResult) *api.GetRolesResponse { return r.JSON200 })
		if err != nil {
			return Page[api.Roles]{}, err
		}
		return NextTokenPage(body.Roles, body.NextToken), nil
	})
}

// Permissions iterates over the permissions of the business (GET /api/v1/permissions).
func (c *Client) Permissions(ctx context.Context, params api.GetPermissionsParams) iter.Seq2[api.Permissions, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.Permissions], error) {
		p := params
		p.NextToken = cursorParam(cursor, p.NextToken)
		res, err := c.api.GetPermissionsWithResponse(ctx, &p)
		body, err := decoded(res, err, func(r *api.GetPermissionsResult) *api.GetPermissionsResponse { return r.JSON200 })
		if err != nil {
			return Page[api.Permissions]{}, err
		}
		return NextTokenPage(body.Permissions, body.NextToken), nil
	})
}

// SearchUsers iterates over the users matching params (GET /api/v1/search/users), which is
// paged with starting_after; the iterator sets StartingAfter for the pages after the first.
func (c *Client) SearchUsers(ctx context.Context, params api.SearchUsersParams) iter.Seq2[api.SearchUsersResponse_Results, error] {
	return Paginate(ctx, func(ctx context.Context, cursor string) (Page[api.SearchUsersResponse_Results], error) {
		p := params
		p.StartingAfter = cursorParam(cursor, p.StartingAfter)
		res, err := c.api.SearchUsersWithResponse(ctx, &p)
		body, err := decoded(res, err, func(r *api.SearchUsersResult) *api.SearchUsersResponse { return r.JSON200 })
		if err != nil {
			return Page[api.SearchUsersResponse_Results]{}, err
		}
		return StartingAfterPage(body.Results, nil, func(u api.SearchUsersResponse_Results) *string { return u.ID }), nil
	})
}
