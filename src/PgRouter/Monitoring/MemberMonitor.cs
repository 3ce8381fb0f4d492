using System.Collections.Frozen;
using PgRouter.Configuration;
using PgRouter.Connections;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Monitoring;

/// <summary>
/// Probes every member of every cluster on an interval, and every 100 ms while a new leader is
/// being promoted, so routing knows first hand who takes writes and how far replicas replay behind.
/// Sessions report what they see on the way (<see cref="IMemberEvidence"/>), which wakes it at once.
/// </summary>
internal sealed class MemberMonitor : IMemberEvidence
{
    private readonly TopologyStore _topology;
    private readonly MonitorOptions _options;
    private readonly KeepaliveOptions _keepalive;
    private readonly ServerTlsConnector _tls;
    private readonly TimeProvider _time;
    private readonly FrozenDictionary<string, WakeSignal> _wake;

    public MemberMonitor(TopologyStore topology, MonitorOptions options, KeepaliveOptions keepalive, ServerTlsConnector tls, TimeProvider time)
    {
        _topology = topology;
        _options = options;
        _keepalive = keepalive;
        _tls = tls;
        _time = time;
        _wake = topology.Clusters.ToFrozenDictionary(c => c, _ => new WakeSignal());
    }

    public async Task RunAsync(string cluster, CancellationToken stopping)
    {
        var probes = new Dictionary<string, MemberProbe>();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var probed = _topology.Current(cluster);
                _wake[cluster].Reset();
                await ProbeAllAsync(cluster, probed, probes).ConfigureAwait(false);
                await WaitForNextRoundAsync(cluster, probed, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var probe in probes.Values)
            {
                await probe.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public void RecoveryStateSeen(string cluster, string member, long leaderRevision, bool inRecovery)
    {
        _topology.Observe(cluster, member, new MemberObservation(true, inRecovery, null, leaderRevision, _time.GetTimestamp(), null));
        _wake[cluster].Set();
    }

    public void ReadOnlyErrorSeen(string cluster, string member) => _wake[cluster].Set();

    public void ConnectFailed(string cluster, string member, long leaderRevision, string error, bool serverDown)
    {
        _topology.Observe(cluster, member, new MemberObservation(false, null, null, leaderRevision, _time.GetTimestamp(), error, serverDown));
        _wake[cluster].Set();
    }

    private async Task ProbeAllAsync(string cluster, ClusterTopology current, Dictionary<string, MemberProbe> probes)
    {
        foreach (string gone in probes.Keys.Where(name => current.FindMember(name) is null).ToList())
        {
            await probes[gone].DisposeAsync().ConfigureAwait(false);
            probes.Remove(gone);
        }
        if (current.Members.IsEmpty)
        {
            return;
        }

        var rounds = current.Members.Select(async member =>
        {
            if (!probes.TryGetValue(member.Name, out var probe))
            {
                probe = probes[member.Name] = new MemberProbe(cluster, member.Name, _options, _keepalive, _tls);
            }
            return (member.Name, Result: await probe.ProbeAsync(member.Host, member.Port).ConfigureAwait(false));
        }).ToList();
        var results = await Task.WhenAll(rounds).ConfigureAwait(false);

        long now = _time.GetTimestamp();
        _topology.Observe(cluster, results.Select(r => KeyValuePair.Create(r.Name,
            new MemberObservation(r.Result.Reachable, r.Result.InRecovery, r.Result.WalPosition, current.LeaderRevision, now, r.Result.Error, r.Result.ServerDown))));
    }

    /// <summary>
    /// Waits out the interval, but probes at once when the leader key moves, the member set changes
    /// or a session reports evidence; while the primary is unconfirmed the interval is 100 ms.
    /// </summary>
    private async Task WaitForNextRoundAsync(string cluster, ClusterTopology probed, CancellationToken stopping)
    {
        long started = _time.GetTimestamp();
        var wake = _wake[cluster];
        while (true)
        {
            var changed = _topology.NextChange(cluster);
            var current = _topology.Current(cluster);
            if (wake.IsSet || current.LeaderRevision != probed.LeaderRevision || !SameMembers(current, probed))
            {
                return;
            }
            var interval = current.HasData && current.PrimaryStatus is PrimaryStatus.Pending or PrimaryStatus.Fenced or PrimaryStatus.Unreachable
                ? _options.PromotionInterval
                : _options.Interval;
            var remaining = interval - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }
            await Task.WhenAny(changed, wake.Task, Task.Delay(remaining, _time, stopping)).ConfigureAwait(false);
            stopping.ThrowIfCancellationRequested();
        }
    }

    private static bool SameMembers(ClusterTopology a, ClusterTopology b) =>
        a.Members.Length == b.Members.Length
        && a.Members.Zip(b.Members).All(pair => pair.First.Name == pair.Second.Name && pair.First.Address == pair.Second.Address);
}
