using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using PgRouter.Configuration;
using PgRouter.Pooling;
using PgRouter.Topology;

namespace PgRouter.Admin;

/// <summary>The outcome of an operator's request, for the admin API and the CLI.</summary>
/// <param name="Status">An HTTP status: 200 done, 404 no such cluster, 409 not now, 502 Patroni said no.</param>
internal sealed record ControlResult(int Status, string Message, int BusyLeft = 0, double HeldSeconds = 0, string? NewLeader = null);

/// <summary>
/// What an operator does to a cluster by hand: PAUSE and RESUME (new transactions wait at their
/// boundary, running ones finish), and a switchover that holds writes, lets running transactions
/// commit, asks Patroni's REST API to hand over, and lets writes go once the new leader holds the
/// key; Patroni then kills nothing a client is using.
/// </summary>
internal sealed partial class ClusterControl(TopologyStore topology, PoolRegistry pools, ConnectionOptions connections, TimeProvider time, ILogger<ClusterControl> logger)
{
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);
    private readonly ConcurrentDictionary<string, bool> _switchingOver = new();
    private readonly HttpClient _patroni = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task<ControlResult> PauseAsync(string cluster, TimeSpan drainTimeout, CancellationToken cancel)
    {
        if (!topology.Clusters.Contains(cluster))
        {
            return NoSuchCluster(cluster);
        }
        topology.SetHold(cluster, ClusterHold.All, "paused by an operator");
        int busy = await DrainAsync(cluster, member: null, drainTimeout, cancel).ConfigureAwait(false);
        return new ControlResult(200, busy == 0
            ? $"cluster {cluster} paused: no server connection is in use"
            : $"cluster {cluster} paused: {busy} server connections still in use after {drainTimeout.TotalSeconds:0.#} s (sessions or long transactions)", busy);
    }

    public ControlResult Resume(string cluster)
    {
        if (!topology.Clusters.Contains(cluster))
        {
            return NoSuchCluster(cluster);
        }
        topology.SetHold(cluster, ClusterHold.None, null);
        return new ControlResult(200, $"cluster {cluster} resumed");
    }

    public async Task<ControlResult> SwitchoverAsync(string cluster, string? candidate, TimeSpan drainTimeout, CancellationToken cancel)
    {
        if (!topology.Clusters.Contains(cluster))
        {
            return NoSuchCluster(cluster);
        }
        var current = topology.Current(cluster);
        if (current.Primary is not { } leader)
        {
            return new ControlResult(409, $"cluster {cluster} has no writable primary to switch over from: {current.PrimaryReason}");
        }
        if (current.SwitchoverPending)
        {
            return new ControlResult(409, $"cluster {cluster} is already switching over");
        }
        if (candidate is not null && (current.FindMember(candidate) is not { } target || target.IsLeader))
        {
            return new ControlResult(409, $"candidate {candidate} is not a replica of cluster {cluster}");
        }
        if (leader.ApiUrl is null)
        {
            return new ControlResult(409, $"cluster {cluster} is not run by Patroni (no REST API known for {leader.Name})");
        }
        if (!_switchingOver.TryAdd(cluster, true))
        {
            return new ControlResult(409, $"a switchover of cluster {cluster} is already under way");
        }

        long started = time.GetTimestamp();
        try
        {
            topology.SetHold(cluster, ClusterHold.Writes, $"switchover from {leader.Name} requested by an operator");
            int busy = await DrainAsync(cluster, leader.Name, drainTimeout, cancel).ConfigureAwait(false);
            LogAskingPatroni(cluster, leader.Name, candidate ?? "any replica", busy);
            var outcome = await HandOverAsync(cluster, leader, candidate, cancel).ConfigureAwait(false);
            double held = time.GetElapsedTime(started).TotalSeconds;
            return outcome with { BusyLeft = busy, HeldSeconds = held };
        }
        finally
        {
            // Writes go on: to the new leader once probed out of recovery, or to the old one if Patroni refused.
            topology.SetHold(cluster, ClusterHold.None, null);
            _switchingOver.TryRemove(cluster, out _);
        }
    }

    /// <summary>
    /// Asks Patroni and waits for the leader key to move. Patroni answers only after polling the
    /// DCS once a second, so the etcd watch usually shows the new leader first.
    /// </summary>
    private async Task<ControlResult> HandOverAsync(string cluster, MemberView leader, string? candidate, CancellationToken cancel)
    {
        // Patroni's HTTP server wants a Content-Length: no chunked body.
        var content = new StringContent(JsonSerializer.Serialize(new { leader = leader.Name, candidate }), Encoding.UTF8, "application/json");
        var request = _patroni.PostAsync(new Uri(new Uri(leader.ApiUrl!), "switchover"), content, cancel);
        try
        {
            return await AwaitNewLeaderAsync(cluster, leader, request, cancel).ConfigureAwait(false);
        }
        finally
        {
            // Patroni may answer after the leader key moved: its response is released whenever it comes.
            _ = request.ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }
                content.Dispose();
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private async Task<ControlResult> AwaitNewLeaderAsync(string cluster, MemberView leader, Task<HttpResponseMessage> request, CancellationToken cancel)
    {
        long started = time.GetTimestamp();
        HttpResponseMessage? response = null;
        while (true)
        {
            var changed = topology.NextChange(cluster);
            var now = topology.Current(cluster);
            if (now.LeaderName is { } newLeader && newLeader != leader.Name)
            {
                return new ControlResult(200, $"cluster {cluster} switched over from {leader.Name} to {newLeader}", NewLeader: newLeader);
            }
            if (response is null && request.IsCompleted)
            {
                try
                {
                    response = await request.ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return new ControlResult(502, $"Patroni's REST API at {leader.ApiUrl} did not answer: {e.Message}");
                }
                if (!response.IsSuccessStatusCode)
                {
                    string body = await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
                    return new ControlResult(502, $"Patroni refused the switchover ({(int)response.StatusCode}): {body.Trim()}");
                }
            }
            var remaining = connections.PauseTimeout - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return new ControlResult(502, $"the leader key of cluster {cluster} still names {leader.Name} after {connections.PauseTimeout.TotalSeconds:0.#} s");
            }
            try
            {
                await (response is null ? Task.WhenAny(changed, request) : changed).WaitAsync(remaining, time, cancel).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>Waits, bounded, until no server connection of the cluster (or of one member) is lent out; returns how many still are.</summary>
    private async Task<int> DrainAsync(string cluster, string? member, TimeSpan timeout, CancellationToken cancel)
    {
        long started = time.GetTimestamp();
        while (true)
        {
            int busy = 0;
            foreach (var pool in pools.Pools)
            {
                if (pool.Key.Cluster == cluster && (member is null || pool.Key.Member == member))
                {
                    var (total, idle, _) = pool.Counts();
                    busy += total - idle;
                }
            }
            if (busy == 0 || time.GetElapsedTime(started) >= timeout)
            {
                return busy;
            }
            await Task.Delay(DrainPoll, time, cancel).ConfigureAwait(false);
        }
    }

    private static ControlResult NoSuchCluster(string cluster) => new(404, $"no cluster named {cluster}");

    [LoggerMessage(1100, LogLevel.Warning, "cluster {Cluster}: asking Patroni to switch over from {Leader} to {Candidate} ({Busy} server connections still in use)")]
    private partial void LogAskingPatroni(string cluster, string leader, string candidate, int busy);
}
