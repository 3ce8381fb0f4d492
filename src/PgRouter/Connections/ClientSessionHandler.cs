using System.Net.Sockets;
using PgRouter.Authentication;
using PgRouter.Configuration;
using PgRouter.Pooling;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Servers;

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
    ServerSelector selector,
    PoolSelector poolSelector,
    PoolPolicy poolPolicy,
    ParsedStatements parsed,
    ActiveSessions sessions,
    CancelRegistry cancels,
    CancelForwarder cancelForwarder,
    IMemberEvidence evidence,
    MemberLoad load,
    TimeProvider time,
    ILogger<ClientSessionHandler> logger)
{
    public async Task HandleAsync(Socket socket, ListenerPolicy listener)
    {
        options.ClientKeepalive.ApplyTo(socket);
        // Startup and authentication together must fit in this time, like PostgreSQL's authentication_timeout.
        using var login = new CancellationTokenSource(options.StartupTimeout);
        if (await handshake.RunAsync(socket, listener, options.StartupTimeout, login.Token).ConfigureAwait(false) is not var (client, packet))
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

        // PgRouter checks the client itself and pools its server connections, unless the listener or
        // database hands authentication to the server (then one relayed connection per session).
        var method = authPolicy.MethodFor(listener.AuthMethod, request.Database);
        if (method == AuthMethod.Passthrough)
        {
            await RelayAsync(client, request, listener).ConfigureAwait(false);
            return;
        }
        var credentials = await authenticator.AuthenticateAsync(client, request, method, login).ConfigureAwait(false);
        if (credentials is not null)
        {
            await PoolAsync(client, request, listener, credentials).ConfigureAwait(false);
        }
    }

    private async Task PoolAsync(ClientConnection client, ClientRequest request, ListenerPolicy listener, ServerCredentials credentials)
    {
        var (mode, poolSettings) = poolPolicy.For(listener.PoolMode, request.Database);
        var route = request.Route;
        var parameters = request.ServerParameters;
        parameters.Set("user", credentials.User);
        // Transaction pools log in with user and database only and apply each client's settings with SET;
        // session pools log in with exactly the client's parameters, so RESET means what it means.
        var login = mode == PoolMode.Session ? parameters : LoginParameters(parameters);
        var poolRoute = new PoolRoute(route.Cluster, request.Database, request.Target, listener.Replicas, route.Database, credentials, poolSettings,
            login, mode == PoolMode.Session ? Fingerprint(parameters) : 0);
        var settings = new SessionSettings(mode == PoolMode.Session ? new StartupParameters() : parameters);

        var cancel = cancels.Register(client.Address);
        long started = time.GetTimestamp();
        try
        {
            var session = new PooledSession(client, poolRoute, mode, poolSelector, parsed, settings, cancel, load, options.MaxMessageBytes, sessions.Stopping, logger);
            if (await session.LoginAsync(parameters).ConfigureAwait(false) is { } refused)
            {
                await client.RefuseAsync(refused, request.User, request.Database).ConfigureAwait(false);
                return;
            }
            if (options.LogConnections)
            {
                LogPooledStarted(client.Address, listener.Name, request.User, request.Database, route.Cluster, RouteTargets.Name(request.Target),
                    mode == PoolMode.Session ? "session" : "transaction", credentials.ToString());
            }
            var end = await sessions.RunAsync(session, session.RunAsync).ConfigureAwait(false);
            if (options.LogConnections)
            {
                LogPooledEnded(client.Address, request.User, route.Cluster, end, session.Transactions,
                    time.GetElapsedTime(started).TotalSeconds, session.BytesFromClient, session.BytesFromServer);
            }
        }
        finally
        {
            cancels.Unregister(cancel);
        }
    }

    private static StartupParameters LoginParameters(StartupParameters client)
    {
        var login = new StartupParameters();
        login.Set("user", client["user"]);
        login.Set("database", client["database"]);
        return login;
    }

    /// <summary>Session pools are per set of startup parameters: the same set, the same pool.</summary>
    private static ulong Fingerprint(StartupParameters parameters)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (name, value) in parameters.Items.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData([0]);
            hash.AppendData(value);
            hash.AppendData([0]);
        }
        return BitConverter.ToUInt64(hash.GetHashAndReset()) | 1;
    }

    /// <summary>A passthrough session: one server connection, the login relayed, the server checks the client.</summary>
    private async Task RelayAsync(ClientConnection client, ClientRequest request, ListenerPolicy listener)
    {
        var (user, database, route) = (request.User, request.Database, request.Route);
        var selection = await selector.SelectAsync(client.Address, route.Cluster, request.Target, listener.Replicas, sessions.Stopping).ConfigureAwait(false);
        if (selection is not { Server: { } server, Member: { } member, LeaderRevision: var leaderRevision })
        {
            await client.RefuseAsync(selection.Error!, user, database).ConfigureAwait(false);
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
            var startup = FrontendMessages.StartupMessage(request.ServerParameters);
            var end = await sessions.RunAsync(relay, () => relay.RunAsync(startup)).ConfigureAwait(false);
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

    [LoggerMessage(300, LogLevel.Information, "client {Client} on {Listener}: user={User} database={Database} -> cluster {Cluster} member {Member} ({Role}, {Address}), server login: passthrough")]
    private partial void LogSessionStarted(string client, string listener, string user, string database, string cluster, string member, string role, string address);

    [LoggerMessage(306, LogLevel.Information, "client {Client} on {Listener}: user={User} database={Database} -> cluster {Cluster} ({Target}, {Mode} pooling), server login: {Login}")]
    private partial void LogPooledStarted(string client, string listener, string user, string database, string cluster, string target, string mode, string login);

    [LoggerMessage(307, LogLevel.Information, "client {Client} user={User}: pooled session on cluster {Cluster} ended ({End}) after {Transactions} transactions, {Seconds:0.###} s, {BytesIn} bytes in, {BytesOut} bytes out")]
    private partial void LogPooledEnded(string client, string user, string cluster, RelayEnd end, long transactions, double seconds, long bytesIn, long bytesOut);

    [LoggerMessage(301, LogLevel.Information, "client {Client} user={User}: session on cluster {Cluster} member {Member} ended ({End}){Open} after {Seconds:0.###} s, {BytesIn} bytes in, {BytesOut} bytes out")]
    private partial void LogSessionEnded(string client, string user, string cluster, string member, RelayEnd end, string open, double seconds, long bytesIn, long bytesOut);

    [LoggerMessage(302, LogLevel.Warning, "client {Client} user={User} on cluster {Cluster} member {Member}: protocol violation, closing: {Message}")]
    private partial void LogClientViolation(string client, string user, string cluster, string member, string message);

    [LoggerMessage(305, LogLevel.Error, "client {Client} on {Listener}: unexpected failure")]
    private partial void LogUnexpected(string client, string listener, Exception exception);
}
