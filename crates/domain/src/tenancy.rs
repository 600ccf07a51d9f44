//! Tenancy rules: roles, organizations, memberships and invitations (to be written).
