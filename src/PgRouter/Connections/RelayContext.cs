namespace PgRouter.Connections;

/// <summary>What a relayed session knows about where it was routed.</summary>
/// <param name="ExpectPrimary">The member was chosen as the primary: a standby there is a routing error.</param>
/// <param name="LeaderRevision">The leadership term the routing decision was made in.</param>
internal sealed record RelayContext(
    string Cluster,
    string Member,
    bool ExpectPrimary,
    long LeaderRevision,
    CancelEntry Cancel,
    int MaxMessageBytes,
    IMemberEvidence Evidence);
