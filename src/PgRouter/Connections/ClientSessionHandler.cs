using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// Owns one accepted client connection from start to end: startup handshake, routing (waiting for a
/// primary when one is being elected), the server connection, and the relay.
/// </summary>
internal sealed partial class ClientSessionHandler(
    ConnectionOptions options,
    DatabaseMap databases,
    TopologyStore topology,
    CancelRegistry cancels,
    CancelForwarder cancelForwarder,
    IMemberEvidence evidence,
    MemberLoad load,
    TimeProvider time,
    ILogger<ClientSessionHandler> logger)
{
    private static readonly PgError ShuttingDown = new(SqlState.AdminShutdown, "terminating connection due to administrator command", "PgRouter is shutting down.");

    private readonly ConcurrentDictionary<SessionRelay, TaskCompletionSource> _relays = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// Ends every session with 57P01, as PostgreSQL does on a fast shutdown, and waits (bounded)
    /// for them to finish; clients still waiting for a primary are refused the same way.
    /// </summary>
    public async Task ShutdownAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var relay in _relays.Keys)
        {
            relay.Terminate(ShuttingDown);
        }
        try
        {
            await Task.WhenAll(_relays.Values.Select(ended => ended.Task)).WaitAsync(grace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    public async Task HandleAsync(Socket socket, ListenerPolicy listener)
    {
        options.ClientKeepalive.ApplyTo(socket);
        var transport = new SocketTransport(socket);
        transport.Start();
        await using var client = new ClientConnection(transport, listener.Name, logger);
        try
        {
            var startup = await client.ReadStartupAsync(options.StartupTimeout).ConfigureAwait(false);
            switch (startup.Outcome)
            {
                case ClientStartupOutcome.Cancel:
                    await cancelForwarder.ForwardAsync(startup.Packet!.CancelKey, client.Address).ConfigureAwait(false);
                    break;
                case ClientStartupOutcome.Startup:
                    await RunSessionAsync(client, startup.Packet!, listener).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e)
        {
            LogUnexpected(client.Address, listener.Name, e);
        }
    }

    private async Task RunSessionAsync(ClientConnection client, StartupPacket packet, ListenerPolicy listener)
    {
        if (ClientRequest.Interpret(packet, databases, listener.Target, out var error) is not { } request)
        {
            await client.RefuseAsync(error!, packet.Parameters["user"], packet.Parameters["database"]).ConfigureAwait(false);
            return;
        }

        // PgRouter speaks 3.0 to both sides; a client asking for more is told so before authentication.
        if (request.NeedsNegotiation
            && !await client.Transport.SendAsync(BackendMessages.NegotiateProtocolVersion(StartupCodes.ProtocolVersion30, request.ProtocolOptions)).ConfigureAwait(false))
        {
            return;
        }

        var (user, database, route) = (request.User, request.Database, request.Route);
        var routed = await RouteAndConnectAsync(client, route.Cluster, request.Target, listener, user, database).ConfigureAwait(false);
        if (routed is not var (server, member, leaderRevision))
        {
            return;
        }

        var cancel = cancels.Register(client.Address);
        load.Attach(route.Cluster, member.Name);
        long started = time.GetTimestamp();
        try
        {
            if (options.LogConnections)
            {
                LogSessionStarted(client.Address, listener.Name, user, database, route.Cluster, member.Name, member.IsLeader ? "primary" : "replica", server.Address);
            }
            var relay = new SessionRelay(client, server, new RelayContext(
                route.Cluster, member.Name, member.IsLeader, leaderRevision, cancel, options.MaxMessageBytes, evidence));
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _relays.TryAdd(relay, ended);
            if (_stopping.IsCancellationRequested)
            {
                relay.Terminate(ShuttingDown);
            }
            RelayEnd end;
            try
            {
                end = await relay.RunAsync(FrontendMessages.StartupMessage(request.ServerParameters)).ConfigureAwait(false);
            }
            finally
            {
                _relays.TryRemove(relay, out _);
                ended.SetResult();
            }
            if (end == RelayEnd.ClientProtocolViolation)
            {
                LogClientViolation(client.Address, user, route.Cluster, member.Name, relay.ClientError!.Message);
            }
            if (options.LogConnections)
            {
                LogSessionEnded(client.Address, user, route.Cluster, member.Name, end,
                    relay.TransactionStatus == TransactionStatus.Idle ? "" : " inside a transaction",
                    time.GetElapsedTime(started).TotalSeconds, relay.BytesFromClient, relay.BytesFromServer);
            }
        }
        finally
        {
            cancels.Unregister(cancel);
            load.Detach(route.Cluster, member.Name);
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Routes and connects, trying other members when one cannot be reached, and waiting (bounded)
    /// while the cluster has no primary yet. Null means the client was refused.
    /// </summary>
    private async Task<(ServerConnection Server, MemberView Member, long LeaderRevision)?> RouteAndConnectAsync(
        ClientConnection client, string cluster, RouteTarget target, ListenerPolicy listener, string user, string database)
    {
        var unreachable = new List<string>();
        long waitStarted = 0;
        while (true)
        {
            var changed = topology.NextChange(cluster);
            var current = topology.Current(cluster);
            var decision = Router.Decide(target, current, listener.Replicas, unreachable);
            switch (decision.Outcome)
            {
                case RouteOutcome.Connect:
                    var member = decision.Member!;
                    var (server, error) = await ServerConnection.ConnectAsync(
                        cluster, member.Name, member.Host, member.Port, options.ConnectTimeout, options.ServerKeepalive).ConfigureAwait(false);
                    if (server is not null)
                    {
                        return (server, member, current.LeaderRevision);
                    }
                    LogConnectFailed(client.Address, cluster, member.Name, error!);
                    evidence.ConnectFailed(cluster, member.Name, current.LeaderRevision, error!);
                    unreachable.Add(member.Name);
                    continue;

                case RouteOutcome.Refuse:
                    await client.RefuseAsync(decision.Error!, user, database).ConfigureAwait(false);
                    return null;
            }

            if (waitStarted == 0)
            {
                waitStarted = time.GetTimestamp();
                LogWaiting(client.Address, cluster, RouteTargets.Name(target), decision.Reason);
            }
            var remaining = options.PrimaryWaitTimeout - time.GetElapsedTime(waitStarted);
            if (remaining <= TimeSpan.Zero)
            {
                await client.RefuseAsync(new PgError(SqlState.CannotConnectNow,
                    $"no {RouteTargets.Name(target)} server available in cluster {cluster} after waiting {options.PrimaryWaitTimeout.TotalSeconds:0.#} s",
                    decision.Reason), user, database).ConfigureAwait(false);
                return null;
            }
            try
            {
                await changed.WaitAsync(remaining, time, _stopping.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                await client.RefuseAsync(ShuttingDown, user, database).ConfigureAwait(false);
                return null;
            }
        }
    }

    [LoggerMessage(300, LogLevel.Information, "client {Client} on {Listener}: user={User} database={Database} -> cluster {Cluster} member {Member} ({Role}, {Address})")]
    private partial void LogSessionStarted(string client, string listener, string user, string database, string cluster, string member, string role, string address);

    [LoggerMessage(301, LogLevel.Information, "client {Client} user={User}: session on cluster {Cluster} member {Member} ended ({End}){Open} after {Seconds:0.###} s, {BytesIn} bytes in, {BytesOut} bytes out")]
    private partial void LogSessionEnded(string client, string user, string cluster, string member, RelayEnd end, string open, double seconds, long bytesIn, long bytesOut);

    [LoggerMessage(302, LogLevel.Warning, "client {Client} user={User} on cluster {Cluster} member {Member}: protocol violation, closing: {Message}")]
    private partial void LogClientViolation(string client, string user, string cluster, string member, string message);

    [LoggerMessage(303, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} unreachable: {Error}")]
    private partial void LogConnectFailed(string client, string cluster, string member, string error);

    [LoggerMessage(304, LogLevel.Information, "client {Client} waits for a {Target} server of cluster {Cluster}: {Reason}")]
    private partial void LogWaiting(string client, string cluster, string target, string reason);

    [LoggerMessage(305, LogLevel.Error, "client {Client} on {Listener}: unexpected failure")]
    private partial void LogUnexpected(string client, string listener, Exception exception);
}
