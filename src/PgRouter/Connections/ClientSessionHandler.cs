using PgRouter.Servers;
using PgRouter.Transport;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PgRouter.Configuration;
using PgRouter.Authentication;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// Owns one accepted client connection from start to end: startup handshake, routing (waiting for a
/// primary when one is being elected), the server connection, and the relay.
/// </summary>
internal sealed partial class ClientSessionHandler(
    ConnectionOptions options,
    ClientHandshake handshake,
    ClientAuthenticator authenticator,
    AuthPolicy authPolicy,
    DatabaseMap databases,
    TopologyStore topology,
    CancelRegistry cancels,
    CancelForwarder cancelForwarder,
    IMemberEvidence evidence,
    MemberLoad load,
    ServerTlsConnector serverTls,
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
        // Startup and authentication together must fit in this time, like PostgreSQL's authentication_timeout.
        using var login = new CancellationTokenSource(options.StartupTimeout);
        if (await handshake.RunAsync(socket, listener, logger, options.StartupTimeout, login.Token).ConfigureAwait(false) is not var (client, packet))
        {
            socket.Dispose();
            return;
        }

        await using (client)
        {
            try
            {
                if (packet.Kind == StartupPacketKind.CancelRequest)
                {
                    await cancelForwarder.ForwardAsync(packet.CancelKey, client.Address).ConfigureAwait(false);
                }
                else
                {
                    await RunSessionAsync(client, packet, listener, login.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (login.IsCancellationRequested)
            {
                await client.RefuseAsync(new PgError(SqlState.ProtocolViolation, $"authentication not completed within {options.StartupTimeout.TotalSeconds:0.#} s")).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogUnexpected(client.Address, listener.Name, e);
            }
        }
    }

    private async Task RunSessionAsync(ClientConnection client, StartupPacket packet, ListenerPolicy listener, CancellationToken login)
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

        // PgRouter checks the client itself unless the listener or database hands that to the server.
        ServerCredentials? credentials = null;
        if (authPolicy.MethodFor(listener.AuthMethod, request.Database) != AuthMethod.Passthrough)
        {
            credentials = await authenticator.AuthenticateAsync(client, request, authPolicy.MethodFor(listener.AuthMethod, request.Database), login).ConfigureAwait(false);
            if (credentials is null)
            {
                return;
            }
            request.ServerParameters.Set("user", credentials.User);
        }

        var (user, database, route) = (request.User, request.Database, request.Route);
        var routed = await RouteAndConnectAsync(client, route.Cluster, request.Target, listener, user, database, request.ServerParameters, credentials).ConfigureAwait(false);
        if (routed is not var (server, member, leaderRevision, serverLogin))
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
                LogSessionStarted(client.Address, listener.Name, user, database, route.Cluster, member.Name, member.IsLeader ? "primary" : "replica", server.Address,
                    credentials is null ? "passthrough" : credentials.ToString());
            }
            if (serverLogin is not null)
            {
                cancel.Server = serverLogin.BackendKey is { } serverKey ? new ServerCancelTarget(route.Cluster, member.Name, server.Host, server.Port, serverKey) : null;
                if (!await client.SendAsync(LoginCompleted(serverLogin, cancel)).ConfigureAwait(false))
                {
                    return;
                }
            }

            var relay = new SessionRelay(client, server, new RelayContext(
                route.Cluster, member.Name, member.IsLeader, leaderRevision, cancel, options.MaxMessageBytes, evidence), serverLoggedIn: serverLogin is not null);
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _relays.TryAdd(relay, ended);
            if (_stopping.IsCancellationRequested)
            {
                relay.Terminate(ShuttingDown);
            }
            RelayEnd end;
            try
            {
                end = await relay.RunAsync(serverLogin is null ? FrontendMessages.StartupMessage(request.ServerParameters) : null).ConfigureAwait(false);
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

    /// <summary>What the client gets once PgRouter logged in to the server for it: AuthenticationOk, the server's parameters, PgRouter's key, ReadyForQuery.</summary>
    private static byte[] LoginCompleted(LoginResult login, CancelEntry cancel)
    {
        var burst = new ArrayBufferWriter<byte>();
        burst.Write(BackendMessages.AuthenticationOk);
        foreach (var (name, value) in login.Parameters)
        {
            burst.Write(BackendMessages.ParameterStatus(name, value));
        }
        burst.Write(BackendMessages.BackendKeyData(cancel.ClientKey));
        burst.Write(BackendMessages.ReadyForQuery(login.Status));
        return burst.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Routes, connects and (with credentials) logs in, trying other members when one cannot be
    /// reached, and waiting (bounded) while the cluster has no primary yet. A server that turns out
    /// to be a standby where a primary was wanted is reported and routing starts over. Null means
    /// the client was refused.
    /// </summary>
    private async Task<(ServerConnection Server, MemberView Member, long LeaderRevision, LoginResult? Login)?> RouteAndConnectAsync(
        ClientConnection client, string cluster, RouteTarget target, ListenerPolicy listener, string user, string database,
        StartupParameters serverParameters, ServerCredentials? credentials)
    {
        var unreachable = new List<string>();
        string? lastError = null;
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
                        cluster, member.Name, member.Host, member.Port, options.ConnectTimeout, options.ServerKeepalive, serverTls).ConfigureAwait(false);
                    if (server is null)
                    {
                        LogConnectFailed(client.Address, cluster, member.Name, error!);
                        evidence.ConnectFailed(cluster, member.Name, current.LeaderRevision, error!);
                        unreachable.Add(member.Name);
                        lastError = error;
                        continue;
                    }
                    if (credentials is null)
                    {
                        return (server, member, current.LeaderRevision, null);
                    }

                    using (var deadline = new CancellationTokenSource(options.ConnectTimeout))
                    {
                        var login = await ServerLogin.LoginAsync(server, serverParameters, credentials, deadline.Token).ConfigureAwait(false);
                        if (login.Error is { SqlState: SqlState.CannotConnectNow or SqlState.AdminShutdown or SqlState.CrashShutdown } notNow)
                        {
                            // Starting up, shutting down, recovering from a crash: another member may serve.
                            await server.DisposeAsync().ConfigureAwait(false);
                            LogConnectFailed(client.Address, cluster, member.Name, notNow.ToString());
                            evidence.ConnectFailed(cluster, member.Name, current.LeaderRevision, notNow.ToString());
                            unreachable.Add(member.Name);
                            lastError = $"{member.Name}: {notNow}";
                            continue;
                        }
                        if (!login.Succeeded)
                        {
                            await server.DisposeAsync().ConfigureAwait(false);
                            var refused = login.Error!;
                            await client.RefuseAsync(refused with { Detail = $"PgRouter could not log in to member {member.Name} of cluster {cluster} as {credentials.User}. {refused.Detail}".TrimEnd() },
                                user, database).ConfigureAwait(false);
                            return null;
                        }
                        if (member.IsLeader && login.Parameter("in_hot_standby") == "on")
                        {
                            // Taken out of the primary role by the report; the next decision waits or goes elsewhere.
                            await server.DisposeAsync().ConfigureAwait(false);
                            evidence.RecoveryStateSeen(cluster, member.Name, current.LeaderRevision, inRecovery: true);
                            continue;
                        }
                        return (server, member, current.LeaderRevision, login);
                    }

                case RouteOutcome.Refuse:
                    // After failed connects, what went wrong with the last one is what the client needs to hear.
                    var refusal = lastError is null ? decision.Error! : decision.Error! with { Detail = lastError };
                    await client.RefuseAsync(refusal, user, database).ConfigureAwait(false);
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

    [LoggerMessage(300, LogLevel.Information, "client {Client} on {Listener}: user={User} database={Database} -> cluster {Cluster} member {Member} ({Role}, {Address}), server login: {Login}")]
    private partial void LogSessionStarted(string client, string listener, string user, string database, string cluster, string member, string role, string address, string login);

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
