using System.Collections.Immutable;

namespace PgRouter.Topology;

/// <summary>
/// Combines what discovery says with what PgRouter observed into the picture routing reads.
/// Pure: the same inputs give the same topology.
/// </summary>
internal static class TopologyBuilder
{
    /// <param name="maxLagBytes">Replicas further behind the leader take no reads.</param>
    /// <param name="freshSince">Observations made before this timestamp are too old to measure lag with.</param>
    public static ClusterTopology Build(
        string name,
        long maxLagBytes,
        long version,
        DiscoveredCluster? discovered,
        bool isStale,
        IReadOnlyDictionary<string, MemberObservation> observations,
        long freshSince,
        DateTimeOffset utcNow)
    {
        if (discovered is null)
        {
            return ClusterTopology.Empty(name) with { Version = version, IsStale = isStale };
        }

        MemberObservation? Fresh(string member) =>
            observations.TryGetValue(member, out var o) && o.ObservedAt >= freshSince ? o : null;

        var (leaderName, status, reason) = discovered.RolesFromProbes
            ? PrimaryFromProbes(discovered, Fresh)
            : PrimaryFromDcs(discovered, observations);

        // The primary's own position, measured now, is the yardstick for replay lag.
        long? primaryLsn = null;
        if (status == PrimaryStatus.Confirmed && Fresh(leaderName!) is { InRecovery: false, WalPosition: long measured })
        {
            primaryLsn = measured;
        }

        var members = ImmutableArray.CreateBuilder<MemberView>(discovered.Members.Length);
        foreach (var member in discovered.Members)
        {
            observations.TryGetValue(member.Name, out var seen);
            var fresh = Fresh(member.Name);
            bool isLeader = member.Name == leaderName;
            long? lag = isLeader ? 0 : Lag(member, fresh, primaryLsn, discovered);
            members.Add(new MemberView(
                member.Name,
                member.Host,
                member.Port,
                isLeader,
                member.Role,
                member.State,
                member.Timeline,
                lag,
                member.NoLoadBalance,
                member.NoFailover,
                seen?.InRecovery,
                seen?.Reachable ?? true,
                isLeader ? "it is the leader" : NotReadableReason(member, seen, fresh, lag, maxLagBytes, discovered.RolesFromProbes),
                member.ApiUrl));
        }

        bool switchoverPending = status == PrimaryStatus.Confirmed
            && discovered.Failover is { } failover
            && (failover.Leader is null || failover.Leader == leaderName)
            && (failover.ScheduledAt is null || failover.ScheduledAt <= utcNow);

        return new ClusterTopology(
            name,
            version,
            discovered.Revision,
            discovered.LeaderRevision,
            HasData: true,
            isStale,
            leaderName,
            status,
            reason,
            discovered.Failover,
            switchoverPending,
            members.MoveToImmutable());
    }

    private static (string? Leader, PrimaryStatus Status, string Reason) PrimaryFromDcs(
        DiscoveredCluster discovered, IReadOnlyDictionary<string, MemberObservation> observations)
    {
        string? leaderName = discovered.LeaderName;
        if (leaderName is null)
        {
            return (null, PrimaryStatus.None, "no member holds the leader key");
        }

        var leader = discovered.FindMember(leaderName);
        if (leader is null)
        {
            return (leaderName, PrimaryStatus.None, $"the leader key names {leaderName}, which has no member key");
        }
        if (discovered.IsStandbyCluster)
        {
            return (leaderName, PrimaryStatus.None, $"standby cluster: its leader {leaderName} is itself a replica");
        }

        // Only an observation from the current term counts: the new leader was a replica a moment ago.
        var seen = observations.TryGetValue(leaderName, out var o) && o.LeaderRevision == discovered.LeaderRevision ? o : null;
        if (seen is { Reachable: false, ServerDown: true })
        {
            return (leaderName, PrimaryStatus.Unreachable, $"leader {leaderName} takes no connections: {seen.Error}");
        }
        bool? inRecovery = seen?.InRecovery;
        if (inRecovery == false)
        {
            return (leaderName, PrimaryStatus.Confirmed, $"leader {leaderName} takes writes");
        }
        if (!leader.IsRunning)
        {
            return (leaderName, PrimaryStatus.Pending, $"leader {leaderName} is {leader.State}");
        }
        if (!leader.HasPrimaryRole)
        {
            // Patroni writes the new leader's role about a second after it already takes writes.
            return (leaderName, PrimaryStatus.Pending, $"leader {leaderName} is being promoted (role {leader.Role ?? "unknown"})");
        }
        return inRecovery == true
            ? (leaderName, PrimaryStatus.Fenced, $"leader {leaderName} is {leader.Role} in etcd but its server is in recovery")
            : (leaderName, PrimaryStatus.Confirmed, $"leader {leaderName} is running as {leader.Role}");
    }

    private static (string? Leader, PrimaryStatus Status, string Reason) PrimaryFromProbes(
        DiscoveredCluster discovered, Func<string, MemberObservation?> fresh)
    {
        var writable = discovered.Members.Where(m => fresh(m.Name) is { Reachable: true, InRecovery: false }).ToList();
        return writable.Count switch
        {
            1 => (writable[0].Name, PrimaryStatus.Confirmed, $"{writable[0].Name} is the only host out of recovery"),
            0 when discovered.Members.Any(m => fresh(m.Name) is null) => (null, PrimaryStatus.Pending, "waiting for probes of the hosts"),
            0 => (null, PrimaryStatus.None, "every host is in recovery or unreachable"),
            _ => (null, PrimaryStatus.None, $"several hosts are out of recovery ({string.Join(", ", writable.Select(m => m.Name))}): refusing to pick one"),
        };
    }

    private static long? Lag(DiscoveredMember member, MemberObservation? fresh, long? primaryLsn, DiscoveredCluster discovered)
    {
        // Measured replay lag beats Patroni's figure, which counts WAL received but not replayed.
        if (primaryLsn is long primary && fresh is { InRecovery: true, WalPosition: long replayed })
        {
            return Math.Max(0, primary - replayed);
        }
        if (!discovered.RolesFromProbes && discovered.LeaderLsn is long leaderLsn && member.WalPosition is long position)
        {
            return Math.Max(0, leaderLsn - position);
        }
        return null;
    }

    /// <remarks>
    /// A replica still on the old timeline right after a switchover serves consistent reads; one
    /// that never follows the new leader stops replaying, and the lag limit catches it.
    /// </remarks>
    private static string? NotReadableReason(
        DiscoveredMember member, MemberObservation? seen, MemberObservation? fresh, long? lag, long maxLagBytes, bool rolesFromProbes)
    {
        if (!member.IsRunning)
        {
            return $"it is {member.State}";
        }
        if (seen is { Reachable: false })
        {
            return $"it is unreachable ({seen.Error})";
        }
        if (rolesFromProbes ? fresh is not { InRecovery: true } : member.Role != "replica")
        {
            return rolesFromProbes ? "it is not known to be a replica" : $"its role is {member.Role ?? "unknown"}";
        }
        if (member.NoLoadBalance)
        {
            return "it is tagged noloadbalance";
        }
        return lag switch
        {
            null => "its replication position is unknown",
            long bytes when bytes > maxLagBytes => $"it lags {ByteSize.Format(bytes)} behind the leader, more than the {ByteSize.Format(maxLagBytes)} allowed",
            _ => null,
        };
    }
}
