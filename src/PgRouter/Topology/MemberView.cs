namespace PgRouter.Topology;

/// <summary>One member as routing sees it: discovery and observations combined.</summary>
/// <param name="LagBytes">How far behind the leader: measured replay lag when fresh, else Patroni's figure.</param>
/// <param name="NotReadableReason">Why it cannot take reads whatever the lag limit; null when it can.</param>
/// <param name="ApiUrl">Patroni's REST API of the member (null for static hosts).</param>
internal sealed record MemberView(
    string Name,
    string Host,
    int Port,
    bool IsLeader,
    string? Role,
    string State,
    int? Timeline,
    long? LagBytes,
    bool NoLoadBalance,
    bool NoFailover,
    bool? InRecovery,
    bool Reachable,
    string? NotReadableReason,
    string? ApiUrl)
{
    public string Address => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
