//! The API's enums, each mirroring a domain enum (the domain knows nothing of GraphQL).

use async_graphql::Enum;

use crate::domain::{
    bulk, catalog, connection_request, contact, permission, sync, telephony, user,
};
use crate::store::entities::{audit_event, connection};

/// Declares a GraphQL enum with one variant per domain variant, and conversions both ways.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident => $domain:path { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                use $domain as D;
                match value {
                    $(D::$variant => $name::$variant),+
                }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                use $domain as D;
                match value {
                    $($name::$variant => D::$variant),+
                }
            }
        }
    };
}

mirror_enum!(
    /// Whether a person can authenticate.
    UserKind => user::UserKind {
        /// Can sign in; holds a licence seat while ACTIVE.
        Login,
        /// A contact record only: cannot sign in, holds no seat.
        NonLogin,
    }
);

mirror_enum!(
    /// A user's lifecycle state.
    UserStatus => user::UserStatus {
        /// In use.
        Active,
        /// Imported and awaiting activation: holds no seat, cannot sign in.
        Pending,
        /// Kept for the record: cannot sign in, holds no seat.
        Deactivated,
    }
);

mirror_enum!(
    /// A user's job in the contact centre.
    UserType => user::UserType {
        /// Handles interactions; bulk creation from a template requires a phone and an agent ID.
        Agent,
        /// Supervises agents; needs no agent ID.
        Supervisor,
        /// Supervises and takes calls; bulk creation from a template requires a phone and an
        /// agent ID.
        VoiceSupervisor,
        /// Administers the account.
        Admin,
        /// Reads reports.
        Analyst,
    }
);

mirror_enum!(
    /// What a permission protects.
    PermissionArea => permission::Area {
        /// Users, groups and skills.
        Users,
        /// Personal data: email and phone fields, searches by email, personal audit details.
        UserPii,
        /// Roles and their assignment.
        Roles,
        /// Connections to integrations and their settings.
        Integrations,
        /// Who receives technical notices about each integration.
        IntegrationContacts,
        /// Account contacts by topic.
        AccountContacts,
        /// Requests to third parties to connect integrations.
        ConnectionRequests,
        /// User sync from external platforms.
        UserSync,
        /// Bulk user creation from a template.
        BulkUsers,
        /// The audit log.
        AuditLog,
    }
);

mirror_enum!(
    /// How much a grant allows; FULL includes READ.
    PermissionLevel => permission::Level {
        /// Nothing.
        None,
        /// Read.
        Read,
        /// Read and change.
        Full,
    }
);

mirror_enum!(
    /// Catalog category of an integration.
    IntegrationCategory => catalog::Category {
        /// Customer relationship management.
        Crm,
        /// Email marketing.
        EmailMarketing,
        /// Helpdesk and customer messaging.
        Helpdesk,
        /// Payments.
        Payments,
        /// Advertising.
        Ads,
        /// Telephony.
        Telephony,
        /// Analytics.
        Analytics,
        /// User directories (SCIM).
        Directory,
    }
);

mirror_enum!(
    /// The kind of value a connection setting holds.
    SettingType => catalog::SettingType {
        /// Free text.
        Text,
        /// A number.
        Number,
        /// True or false.
        Boolean,
        /// One of the listed options.
        Select,
        /// A secret: write-only, encrypted at rest; the API only says whether it is set.
        Secret,
    }
);

mirror_enum!(
    /// An account's state for one integration.
    ConnectionStatus => connection::ConnectionStatus {
        /// Not connected.
        NotConnected,
        /// Connected and working.
        Connected,
        /// Connected once, now failing.
        Error,
    }
);

mirror_enum!(
    /// Who performed an audited action.
    ActorKind => audit_event::ActorKind {
        /// A user of the account.
        User,
        /// An invitee using a connection-request link.
        Invitee,
        /// A platform operator (vendor staff).
        Operator,
        /// Liaison itself (schedules, first run).
        System,
    }
);

mirror_enum!(
    /// What the vendor contacts an account about.
    ContactTopicName => contact::Topic {
        /// Product updates; notices respect each contact's `mayContactForProductUpdates`.
        ProductUpdates,
        /// Information security and legal matters. Required.
        SecurityLegal,
        /// Invoices and contracts. Required.
        Finance,
        /// Integrations and APIs. Optional.
        IntegrationsApis,
    }
);

mirror_enum!(
    /// A consent flag on a user.
    ConsentFlag => contact::ConsentFlag {
        /// May be invited to product-usage interviews.
        Interviews,
        /// May be told about product updates.
        ProductUpdates,
    }
);

mirror_enum!(
    /// What a notice from the vendor is about.
    NoticeKind => contact::NoticeKind {
        /// The customer must act (e.g. update a setting before a deadline).
        ActionRequired,
        /// The integration or feature will be switched off.
        Sunset,
        /// The integration moves to a new version or API.
        Migration,
        /// For information only.
        Information,
    }
);

mirror_enum!(
    /// Where a connection request stands.
    ConnectionRequestStatus => connection_request::RequestStatus {
        /// Waiting for the invitee; the link works until it expires.
        Pending,
        /// Every integration of the request is connected; the link no longer works.
        Completed,
        /// Withdrawn by a user of the account; the link no longer works.
        Revoked,
        /// The link ran out before everything was connected; a resend issues a new one.
        Expired,
    }
);

mirror_enum!(
    /// Where one integration of a connection request stands.
    ConnectionRequestItemStatus => connection_request::ItemStatus {
        /// Not connected through the request yet.
        Pending,
        /// Connected through the request.
        Connected,
    }
);

mirror_enum!(
    /// Where a bulk user job stands.
    BulkUserJobStatus => bulk::JobStatus {
        /// Recorded; a worker will start it shortly.
        Queued,
        /// Rows are being processed.
        Running,
        /// Every row was created or skipped.
        Completed,
        /// Every row was processed and some failed: see the rows' errors.
        CompletedWithErrors,
        /// The job could not run (for example, its template user is gone).
        Failed,
        /// Stopped on request; the rows not processed are CANCELLED.
        Cancelled,
    }
);

mirror_enum!(
    /// Where a bulk user job's rows came from.
    BulkUserJobSource => bulk::JobSource {
        /// Rows given in the request.
        Rows,
        /// The users of a saved user view.
        UserView,
        /// Chosen pending users, activated.
        PendingUsers,
        /// An uploaded CSV file.
        Csv,
        /// The failed rows of an earlier job.
        Retry,
    }
);

mirror_enum!(
    /// A bulk row's result.
    BulkUserRowStatus => bulk::RowStatus {
        /// Not processed yet.
        Queued,
        /// The user was created (or the pending user activated).
        Created,
        /// The source already has a user (ALREADY_LINKED): nothing was done.
        Skipped,
        /// Not created: see the row's errors, every reason at once.
        Failed,
        /// Not processed: the job was cancelled first.
        Cancelled,
    }
);

mirror_enum!(
    /// What a telephony resource is.
    TelephonyResourceKind => telephony::ResourceKind {
        /// A queue of interactions that agents answer.
        Queue,
        /// A phone line.
        Line,
    }
);

mirror_enum!(
    /// How much a user may do with a queue or line.
    ResourceAccessLevel => telephony::AccessLevel {
        /// See it and its statistics.
        Read,
        /// Also work in it and change its settings.
        Full,
    }
);

mirror_enum!(
    /// Which attribute matches an unlinked upstream record to an existing user.
    SyncPrimaryIdentifier => sync::PrimaryIdentifier {
        /// The username, in any letter case.
        Username,
        /// The email, in any letter case.
        Email,
        /// Only a link made earlier: every unlinked record becomes a new pending user.
        ExternalId,
    }
);

mirror_enum!(
    /// The health of a sync source.
    SyncSourceStatus => sync::SourceStatus {
        /// The last run could read the upstream.
        Ok,
        /// The upstream refused the credentials: fix the connection.
        AuthFailed,
        /// The last runs failed for another reason; runs are spaced out until one succeeds.
        Failing,
    }
);

mirror_enum!(
    /// What started a sync run.
    SyncRunTrigger => sync::RunTrigger {
        /// The first run, right after enabling.
        Enable,
        /// The source's schedule.
        Schedule,
        /// `runUserSyncNow` or `previewUserSync`.
        Manual,
    }
);

mirror_enum!(
    /// Where a sync run stands.
    SyncRunStatus => sync::RunStatus {
        /// Recorded; a worker will start it shortly.
        Queued,
        /// Fetching or applying.
        Running,
        /// More users would be flagged or deactivated than the safeguard allows: approve or
        /// reject the run.
        AwaitingApproval,
        /// Every change was applied.
        Succeeded,
        /// The fetch was complete but some users' changes failed: see the items.
        Partial,
        /// The fetch was incomplete or empty: nothing was changed (see `error`).
        Failed,
        /// An admin rejected the run: nothing was changed.
        Rejected,
    }
);

mirror_enum!(
    /// What a sync run did (or would do) for one user.
    SyncItemAction => sync::ItemAction {
        /// A new PENDING user (no seat, no roles).
        Create,
        /// An existing user matched by the primary identifier, linked from now on.
        Link,
        /// Names or email changed upstream.
        Update,
        /// A user flagged as gone upstream is back.
        Returned,
        /// Gone upstream: flagged (`missingUpstreamSince`), never deleted.
        FlagMissing,
        /// Gone upstream for as many complete runs as the policy allows: deactivated.
        Deactivate,
        /// More than one user could be meant, or the one found is linked to another record.
        Conflict,
    }
);

mirror_enum!(
    /// Whether an item's change happened.
    SyncItemStatus => sync::ItemStatus {
        /// Previewed: nothing was changed.
        Planned,
        Applied,
        /// Refused (see `error`).
        Failed,
        /// Nothing was done: a conflict waits for an admin.
        Skipped,
    }
);
