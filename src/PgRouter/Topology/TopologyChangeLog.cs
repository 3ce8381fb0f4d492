namespace PgRouter.Topology;

/// <summary>One log line per change that matters to an operator: leader, primary, switchover, staleness, members.</summary>
internal sealed partial class TopologyChangeLog(ILogger<TopologyChangeLog> logger)
{
    public void Report(ClusterTopology before, ClusterTopology after)
    {
        string cluster = after.Name;
        if (!before.HasData && after.HasData)
        {
            Discovered(cluster, after.DcsRevision, after.LeaderName ?? "none",
                string.Join(", ", after.Members.Select(m => $"{m.Name} {m.Role ?? "?"} {m.State} {m.Address}")));
        }
        else if (before.LeaderName != after.LeaderName)
        {
            LeaderChanged(cluster, before.LeaderName ?? "none", after.LeaderName ?? "none", after.DcsRevision);
        }

        if (before.PrimaryStatus != after.PrimaryStatus || (after.PrimaryStatus == PrimaryStatus.Confirmed && before.LeaderName != after.LeaderName))
        {
            if (after.PrimaryStatus == PrimaryStatus.Confirmed)
            {
                PrimaryConfirmed(cluster, after.LeaderName!, after.PrimaryReason);
            }
            else
            {
                PrimaryUnavailable(cluster, after.PrimaryStatus, after.PrimaryReason);
            }
        }

        if (before.SwitchoverPending != after.SwitchoverPending)
        {
            if (after.SwitchoverPending)
            {
                SwitchoverRequested(cluster, after.LeaderName ?? "none", after.DcsRevision);
            }
            else
            {
                SwitchoverCleared(cluster, after.DcsRevision);
            }
        }

        if (before.Hold != after.Hold)
        {
            if (after.Hold == ClusterHold.None)
            {
                Released(cluster, before.Hold);
            }
            else
            {
                Held(cluster, after.Hold, after.HoldReason ?? "");
            }
        }

        if (before.IsStale != after.IsStale)
        {
            if (after.IsStale)
            {
                Stale(cluster, after.DcsRevision, after.LeaderName ?? "none");
            }
            else
            {
                Fresh(cluster, after.DcsRevision);
            }
        }

        if (!before.HasData)
        {
            return;
        }
        foreach (var member in after.Members)
        {
            var old = before.FindMember(member.Name);
            if (old is null)
            {
                MemberJoined(cluster, member.Name, member.Address, member.Role ?? "?", member.State);
            }
            else if (!member.IsLeader && old.NotReadableReason != member.NotReadableReason)
            {
                if (member.NotReadableReason is null)
                {
                    MemberReadable(cluster, member.Name);
                }
                else
                {
                    MemberNotReadable(cluster, member.Name, member.NotReadableReason);
                }
            }
        }
        foreach (var member in before.Members)
        {
            if (after.FindMember(member.Name) is null)
            {
                MemberLeft(cluster, member.Name);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "cluster {Cluster}: discovered at etcd revision {Revision}, leader {Leader}; members: {Members}")]
    private partial void Discovered(string cluster, long revision, string leader, string members);

    [LoggerMessage(2, LogLevel.Warning, "cluster {Cluster}: leader changed {From} -> {To} (etcd revision {Revision})")]
    private partial void LeaderChanged(string cluster, string from, string to, long revision);

    [LoggerMessage(3, LogLevel.Information, "cluster {Cluster}: primary is {Member}: {Reason}")]
    private partial void PrimaryConfirmed(string cluster, string member, string reason);

    [LoggerMessage(4, LogLevel.Warning, "cluster {Cluster}: no writable primary ({Status}): {Reason}")]
    private partial void PrimaryUnavailable(string cluster, PrimaryStatus status, string reason);

    [LoggerMessage(5, LogLevel.Warning, "cluster {Cluster}: switchover requested, leader {Leader} is stepping down (etcd revision {Revision})")]
    private partial void SwitchoverRequested(string cluster, string leader, long revision);

    [LoggerMessage(6, LogLevel.Information, "cluster {Cluster}: switchover request cleared (etcd revision {Revision})")]
    private partial void SwitchoverCleared(string cluster, long revision);

    [LoggerMessage(7, LogLevel.Warning, "cluster {Cluster}: topology is stale, routing on the last known picture (etcd revision {Revision}, leader {Leader})")]
    private partial void Stale(string cluster, long revision, string leader);

    [LoggerMessage(8, LogLevel.Information, "cluster {Cluster}: topology is current again (etcd revision {Revision})")]
    private partial void Fresh(string cluster, long revision);

    [LoggerMessage(9, LogLevel.Information, "cluster {Cluster} member {Member}: joined at {Address} as {Role}, {State}")]
    private partial void MemberJoined(string cluster, string member, string address, string role, string state);

    [LoggerMessage(10, LogLevel.Information, "cluster {Cluster} member {Member}: left")]
    private partial void MemberLeft(string cluster, string member);

    [LoggerMessage(11, LogLevel.Information, "cluster {Cluster} member {Member}: takes reads again")]
    private partial void MemberReadable(string cluster, string member);

    [LoggerMessage(12, LogLevel.Warning, "cluster {Cluster} member {Member}: takes no reads: {Reason}")]
    private partial void MemberNotReadable(string cluster, string member, string reason);

    [LoggerMessage(13, LogLevel.Warning, "cluster {Cluster}: new transactions held ({Hold}): {Reason}")]
    private partial void Held(string cluster, ClusterHold hold, string reason);

    [LoggerMessage(14, LogLevel.Information, "cluster {Cluster}: hold on {Hold} released, waiting transactions go on")]
    private partial void Released(string cluster, ClusterHold hold);
}
