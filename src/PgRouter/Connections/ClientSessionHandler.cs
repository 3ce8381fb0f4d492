using System.Buffers;
using System.Net.Sockets;
using PgRouter.Authentication;
using PgRouter.Configuration;
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

        // PgRouter checks the client itself unless the listener or database hands that to the server.
        ServerCredentials? credentials = null;
        var method = authPolicy.MethodFor(listener.AuthMethod, request.Database);
        if (method != AuthMethod.Passthrough)
        {
            credentials = await authenticator.AuthenticateAsync(client, request, method, login).ConfigureAwait(false);
            if (credentials is null)
            {
                return;
            }
            request.ServerParameters.Set("user", credentials.User);
        }

        var (user, database, route) = (request.User, request.Database, request.Route);
        var selection = await selector.SelectAsync(client.Address, route.Cluster, request.Target, listener.Replicas,
            request.ServerParameters, credentials, sessions.Stopping).ConfigureAwait(false);
        if (selection is not { Server: { } server, Member: { } member, LeaderRevision: var leaderRevision, Login: var serverLogin })
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
            var end = await sessions.RunAsync(relay, serverLogin is null ? FrontendMessages.StartupMessage(request.ServerParameters) : null).ConfigureAwait(false);
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

    [LoggerMessage(300, LogLevel.Information, "client {Client} on {Listener}: user={User} database={Database} -> cluster {Cluster} member {Member} ({Role}, {Address}), server login: {Login}")]
    private partial void LogSessionStarted(string client, string listener, string user, string database, string cluster, string member, string role, string address, string login);

    [LoggerMessage(301, LogLevel.Information, "client {Client} user={User}: session on cluster {Cluster} member {Member} ended ({End}){Open} after {Seconds:0.###} s, {BytesIn} bytes in, {BytesOut} bytes out")]
    private partial void LogSessionEnded(string client, string user, string cluster, string member, RelayEnd end, string open, double seconds, long bytesIn, long bytesOut);

    [LoggerMessage(302, LogLevel.Warning, "client {Client} user={User} on cluster {Cluster} member {Member}: protocol violation, closing: {Message}")]
    private partial void LogClientViolation(string client, string user, string cluster, string member, string message);

    [LoggerMessage(305, LogLevel.Error, "client {Client} on {Listener}: unexpected failure")]
    private partial void LogUnexpected(string client, string listener, Exception exception);
}
