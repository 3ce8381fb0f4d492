namespace PgRouter.Connections;

/// <summary>
/// What sessions learn about a member on the way, reported so that routing reacts at once instead
/// of waiting for the DCS or the next probe.
/// </summary>
internal interface IMemberEvidence
{
    /// <summary>The server's in_hot_standby contradicted the role it was routed for.</summary>
    void RecoveryStateSeen(string cluster, string member, long leaderRevision, bool inRecovery);

    /// <summary>A write failed with 25006 on a server routed as primary: check it at once.</summary>
    void ReadOnlyErrorSeen(string cluster, string member);

    /// <summary>A connection to the member failed: keep clients away until a probe reaches it.</summary>
    /// <param name="serverDown">The server takes no connections (see <see cref="Servers.ConnectError"/>).</param>
    void ConnectFailed(string cluster, string member, long leaderRevision, string error, bool serverDown);
}
