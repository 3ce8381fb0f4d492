using System.Collections.Frozen;
using System.Collections.Immutable;

namespace PgRouter.Topology;

/// <summary>
/// The current topology of every configured cluster. Readers take a snapshot with a single
/// volatile read; writers (discovery, probes, logins) serialize per cluster and publish a new
/// immutable picture, then wake whoever waits for a change.
/// </summary>
internal sealed class TopologyStore
{
    /// <summary>Probe results older than this no longer count for lag or for a static cluster's roles.</summary>
    public static readonly TimeSpan ObservationLifetime = TimeSpan.FromSeconds(5);

    private readonly FrozenDictionary<string, Slot> _slots;
    private readonly TimeProvider _time;
    private readonly TopologyChangeLog _changeLog;

    /// <param name="clusters">Each cluster's name and the replica lag above which it takes no reads.</param>
    public TopologyStore(IEnumerable<KeyValuePair<string, long>> clusters, TimeProvider time, TopologyChangeLog changeLog)
    {
        _time = time;
        _changeLog = changeLog;
        _slots = clusters.ToFrozenDictionary(c => c.Key, c => new Slot(c.Key, c.Value));
    }

    public IEnumerable<string> Clusters => _slots.Keys;

    public ClusterTopology Current(string cluster) => Volatile.Read(ref _slots[cluster].Current);

    /// <summary>Completes when the next picture of this cluster is published.</summary>
    public Task NextChange(string cluster) => Volatile.Read(ref _slots[cluster].Changed).Task;

    public void PublishDiscovery(string cluster, DiscoveredCluster discovered) =>
        Update(cluster, slot => slot.Discovered = discovered);

    public void SetStale(string cluster, bool stale) => Update(cluster, slot => slot.IsStale = stale);

    /// <summary>Holds back new transactions of the cluster (or lets them go with <see cref="ClusterHold.None"/>).</summary>
    public void SetHold(string cluster, ClusterHold hold, string? reason) =>
        Update(cluster, slot => slot.Hold = (hold, hold == ClusterHold.None ? null : reason));

    public void Observe(string cluster, string member, MemberObservation observation) =>
        Update(cluster, slot => slot.Observations = slot.Observations.SetItem(member, observation));

    /// <summary>A probe round: every member at once, one new picture.</summary>
    public void Observe(string cluster, IEnumerable<KeyValuePair<string, MemberObservation>> observations) =>
        Update(cluster, slot => slot.Observations = slot.Observations.SetItems(observations));

    private void Update(string cluster, Action<Slot> change)
    {
        var slot = _slots[cluster];
        ClusterTopology previous, next;
        TaskCompletionSource changed;
        lock (slot)
        {
            change(slot);
            previous = slot.Current;
            long freshSince = _time.GetTimestamp() - (long)(ObservationLifetime.TotalSeconds * _time.TimestampFrequency);
            var now = _time.GetUtcNow();
            next = TopologyBuilder.Build(cluster, slot.MaxLagBytes, previous.Version + 1, slot.Discovered, slot.IsStale, slot.Observations, freshSince, now)
                with { Hold = slot.Hold.Kind, HoldReason = slot.Hold.Reason };
            Volatile.Write(ref slot.Current, next);
            changed = slot.Changed;
            slot.Changed = NewSignal();
            _changeLog.Report(previous, next);
            ScheduleSwitchoverCheck(cluster, slot, now);
        }

        changed.SetResult();
    }

    /// <summary>
    /// A switchover scheduled for later becomes pending at its time even if etcd is quiet then,
    /// so the picture is rebuilt at that moment.
    /// </summary>
    private void ScheduleSwitchoverCheck(string cluster, Slot slot, DateTimeOffset now)
    {
        slot.SwitchoverCheck?.Dispose();
        slot.SwitchoverCheck = null;
        if (slot.Discovered?.Failover?.ScheduledAt is { } at && at > now)
        {
            // A timer may fire a little early by the wall clock: the rebuild then arms it again.
            slot.SwitchoverCheck = _time.CreateTimer(_ => Update(cluster, _ => { }), null, at - now, Timeout.InfiniteTimeSpan);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Slot(string name, long maxLagBytes)
    {
        public readonly long MaxLagBytes = maxLagBytes;
        public ClusterTopology Current = ClusterTopology.Empty(name);
        public TaskCompletionSource Changed = NewSignal();
        public DiscoveredCluster? Discovered;
        public bool IsStale;
        public ImmutableDictionary<string, MemberObservation> Observations = ImmutableDictionary<string, MemberObservation>.Empty;
        public ITimer? SwitchoverCheck;
        public (ClusterHold Kind, string? Reason) Hold = (ClusterHold.None, null);
    }
}
