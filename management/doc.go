// Package management is a typed client for Kinde's Management API.
//
// New builds a Client from a Config (or from the KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID and
// KINDE_MANAGEMENT_CLIENT_SECRET environment variables); NewFromKinde reuses the domain,
// credentials and cached token of a core *kinde.Client. The client gets its access token with
// the client-credentials grant for the audience "https://<domain>/api", caches it and renews it
// before it expires.
//
// Every one of the API's operations is available through API, which returns the client generated
// from Kinde's OpenAPI specification (package api). On top of it, Client offers:
//
//   - iterators over list endpoints (Users, Organizations, OrganizationUsers, Roles,
//     Permissions, SearchUsers), and Paginate to iterate any other list operation, whether it
//     is paged with next_token or with starting_after;
//   - shortcuts for common tasks: CreateOrganization, CreateUserWithEmail and
//     AddOrganizationUsers.
//
// All calls share one behaviour: a per-request timeout, retries (429 for every method, after
// the delay Kinde gives in RateLimit-Reset; 5xx replies, connection errors and timeouts only for
// idempotent methods) and a single error type for replies outside 2xx, *APIError, which both
// the list and the object form of Kinde's error bodies decode into.
package management
