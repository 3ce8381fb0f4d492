using System.Text.Json;
using PgRouter.Topology;

namespace PgRouter.Discovery.Etcd;

/// <summary>
/// Follows one Patroni cluster in etcd: range the whole scope, watch from the next revision, publish
/// a topology after every message; on any failure start over (next endpoint, backoff). While etcd
/// cannot be reached the last topology stays in use, marked stale.
/// </summary>
internal sealed partial class EtcdClusterWatcher(
    string cluster,
    string basePath,
    EtcdGatewayClient etcd,
    TopologyStore topology,
    TimeSpan maxBackoff,
    TimeProvider time,
    ILogger<EtcdClusterWatcher> logger)
{
    public async Task RunAsync(CancellationToken stopping)
    {
        var cache = new PatroniKeyCache(basePath);
        var backoff = new Backoff(maxBackoff);
        long staleSince = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var range = await etcd.RangePrefixAsync(cache.BasePath, stopping).ConfigureAwait(false);
                cache.Load(range);
                topology.PublishDiscovery(cluster, cache.ToDiscovered());
                LogWatching(cluster, etcd.CurrentEndpoint, cache.BasePath, range.Revision);

                await foreach (var message in etcd.WatchPrefixAsync(cache.BasePath, range.Revision + 1, stopping).ConfigureAwait(false))
                {
                    if (message.Error is not null)
                    {
                        throw new EtcdException($"{etcd.CurrentEndpoint}: watch failed: {message.Error}");
                    }
                    if (message.Canceled)
                    {
                        LogWatchCanceled(cluster, message.CompactRevision, message.CancelReason ?? "");
                        break;
                    }
                    if (message.Created)
                    {
                        if (staleSince != 0)
                        {
                            LogReconnected(cluster, time.GetElapsedTime(staleSince).TotalSeconds);
                            staleSince = 0;
                            topology.SetStale(cluster, false);
                        }
                        backoff.Reset();
                        continue;
                    }

                    bool changed = false;
                    foreach (var change in message.Events)
                    {
                        changed |= cache.Apply(change);
                    }
                    if (changed)
                    {
                        // All events of one message (a lease expiry deletes leader and member together) land at once.
                        topology.PublishDiscovery(cluster, cache.ToDiscovered());
                    }
                }
                // The stream ended; reconnect at once, then back off if that fails too.
            }
            catch (Exception e) when (e is EtcdException or HttpRequestException or IOException or JsonException or FormatException
                                      || (e is OperationCanceledException && !stopping.IsCancellationRequested))
            {
                etcd.RotateEndpoint();
                if (staleSince == 0)
                {
                    staleSince = time.GetTimestamp();
                    LogUnreachable(cluster, e.Message);
                    topology.SetStale(cluster, true);
                }
                else
                {
                    LogRetryFailed(cluster, e.Message);
                }
            }

            try
            {
                await Task.Delay(backoff.Next(), time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(500, LogLevel.Information, "cluster {Cluster}: watching {Endpoint} under {Path} from revision {Revision}")]
    private partial void LogWatching(string cluster, string endpoint, string path, long revision);

    [LoggerMessage(501, LogLevel.Warning, "cluster {Cluster}: etcd unreachable, keeping the last known topology: {Error}")]
    private partial void LogUnreachable(string cluster, string error);

    [LoggerMessage(502, LogLevel.Debug, "cluster {Cluster}: etcd still unreachable: {Error}")]
    private partial void LogRetryFailed(string cluster, string error);

    [LoggerMessage(503, LogLevel.Information, "cluster {Cluster}: etcd reachable again after {Seconds:0.0} s")]
    private partial void LogReconnected(string cluster, double seconds);

    [LoggerMessage(504, LogLevel.Warning, "cluster {Cluster}: etcd cancelled the watch (compacted at revision {CompactRevision}; {Reason}), reading the cluster again")]
    private partial void LogWatchCanceled(string cluster, long compactRevision, string reason);
}
