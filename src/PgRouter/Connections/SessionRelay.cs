using System.Buffers;
using PgRouter.Protocol;
using PgRouter.Servers;

namespace PgRouter.Connections;

/// <summary>
/// Relays one client session to one server, byte for byte, in both directions at once. Only frame
/// headers are read, plus the few messages that matter: the login exchange (passed through, so the
/// server authenticates the client), BackendKeyData (swapped for PgRouter's own), ParameterStatus
/// in_hot_standby and ErrorResponse 25006 (evidence of a wrong role) and ReadyForQuery.
/// </summary>
internal sealed class SessionRelay(ClientConnection client, ServerConnection server, RelayContext context) : IBackendMessageObserver, IActiveSession
{
    private enum ServerPhase
    {
        /// <summary>Authentication requests pass to the client and its answers to the server.</summary>
        Authenticating,

        /// <summary>After AuthenticationOk: held back until ReadyForQuery, to check the role and swap the key.</summary>
        Holding,

        Relaying,
    }

    private ServerPhase _phase = ServerPhase.Authenticating;
    private FrameWalker _clientFrames;
    private FrameWalker _serverFrames;
    private PgError? _clientError;
    private PgError? _refusal;
    private volatile PgError? _termination;
    private bool _serverSaidFatal;

    public TransactionStatus TransactionStatus { get; private set; } = TransactionStatus.Idle;

    public long BytesFromClient { get; private set; }

    public long BytesFromServer { get; private set; }

    /// <param name="startupMessage">The StartupMessage to send the server first.</param>
    public async Task<RelayEnd> RunAsync(byte[] startupMessage)
    {
        if (!await server.Transport.SendAsync(startupMessage).ConfigureAwait(false))
        {
            return RelayEnd.ServerUnreachable;
        }

        var fromClient = PumpClientAsync();
        var fromServer = PumpServerAsync();
        var first = await Task.WhenAny(fromClient, fromServer).ConfigureAwait(false);
        var end = await first.ConfigureAwait(false);
        if (first == fromClient)
        {
            // The server pump is the only writer to the client: stop it before writing an error.
            server.Transport.Abort();
            await fromServer.ConfigureAwait(false);
            if (_clientError is not null)
            {
                await client.SendFatalAsync(_clientError).ConfigureAwait(false);
            }
        }
        else
        {
            // A farewell in the middle of a forwarded message would corrupt it: then the client only sees the close.
            var farewell = _refusal ?? (_serverFrames.InsideFrame ? null : _termination ?? (end == RelayEnd.ServerClosed && !_serverSaidFatal ? ConnectionLost() : null));
            if (farewell is not null)
            {
                await client.SendFatalAsync(farewell).ConfigureAwait(false);
            }
            if (_termination is not null)
            {
                end = RelayEnd.Terminated;
            }
            server.Transport.Abort();
            await client.Transport.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            await fromClient.ConfigureAwait(false);
        }
        return end;
    }

    public PgError? ClientError => _clientError;

    /// <summary>What a client hears when its server vanished without a word (crash, network): like PostgreSQL's own.</summary>
    private PgError ConnectionLost() => new(
        SqlState.ConnectionFailure,
        "server closed the connection unexpectedly",
        $"Member {context.Member} of cluster {context.Cluster} went away{(server.Transport.Error is { } error ? $" ({error})" : "")}; the session cannot go on.",
        "Reconnect: PgRouter routes the new connection to a member that is up.");

    /// <summary>Ends the session from outside (PgRouter stops): the server is dropped, the client told why.</summary>
    public void Stop(PgError reason)
    {
        _termination = reason;
        server.Transport.Abort();
    }

    private async Task<RelayEnd> PumpClientAsync()
    {
        var input = client.Input;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            var end = FrontendFrameScanner.Scan(buffer, ref _clientFrames, context.MaxMessageBytes, out var violation, out bool terminate);
            _clientError ??= violation;
            var chunk = buffer.Slice(buffer.Start, end);
            if (!chunk.IsEmpty)
            {
                BytesFromClient += chunk.Length;
                if (!await server.Transport.SendAsync(chunk).ConfigureAwait(false))
                {
                    input.AdvanceTo(end);
                    return RelayEnd.ServerClosed;
                }
            }
            input.AdvanceTo(end, buffer.End);

            if (_clientError is not null)
            {
                return RelayEnd.ClientProtocolViolation;
            }
            if (terminate)
            {
                return RelayEnd.ClientTerminated;
            }
            if (result.IsCompleted)
            {
                return RelayEnd.ClientClosed;
            }
        }
    }

    private async Task<RelayEnd> PumpServerAsync()
    {
        var input = server.Input;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            var phase = _phase;
            bool malformed;
            SequencePosition end;
            byte[]? replacement = null;
            switch (phase)
            {
                case ServerPhase.Relaying:
                    end = BackendFrameScanner.Scan(buffer, ref _serverFrames, this, out malformed);
                    break;
                case ServerPhase.Authenticating:
                    end = ScanAuthenticating(buffer, out malformed);
                    break;
                default:
                    end = ScanHeld(buffer, out malformed, out replacement);
                    break;
            }

            if (_refusal is not null)
            {
                input.AdvanceTo(buffer.End);
                return RelayEnd.WrongRole;
            }

            var chunk = buffer.Slice(buffer.Start, end);
            if (!chunk.IsEmpty)
            {
                BytesFromServer += chunk.Length;
                bool sent = replacement is null
                    ? await client.Transport.SendAsync(chunk).ConfigureAwait(false)
                    : await client.Transport.SendAsync(replacement).ConfigureAwait(false);
                if (!sent)
                {
                    input.AdvanceTo(end);
                    return RelayEnd.ClientClosed;
                }
            }

            // A phase change leaves the rest unexamined, so the next read returns it at once.
            bool progressed = phase != _phase || !chunk.IsEmpty;
            if (phase != _phase)
            {
                input.AdvanceTo(end);
            }
            else
            {
                input.AdvanceTo(end, buffer.End);
            }

            if (malformed)
            {
                return RelayEnd.ServerProtocolViolation;
            }
            if (result.IsCompleted && (!progressed || end.Equals(buffer.End)))
            {
                return RelayEnd.ServerClosed;
            }
        }
    }

    bool IBackendMessageObserver.OnMessage(byte type, in ReadOnlySequence<byte> frame)
    {
        switch (type)
        {
            case BackendMessage.ReadyForQuery:
                TransactionStatus = BackendMessageParser.ReadyForQueryStatus(frame);
                break;
            case BackendMessage.ErrorResponse:
                var error = BackendMessageParser.ErrorResponse(frame, out _serverSaidFatal);
                if (context.ExpectPrimary && error.SqlState == SqlState.ReadOnlySqlTransaction)
                {
                    context.Evidence.ReadOnlyErrorSeen(context.Cluster, context.Member);
                }
                break;
            case BackendMessage.ParameterStatus:
                ReportRoleContradiction(frame);
                break;
        }
        return true;
    }

    /// <summary>in_hot_standby says the server is not what it was routed as: tell routing. True when it does.</summary>
    private bool ReportRoleContradiction(in ReadOnlySequence<byte> parameterStatus)
    {
        var (name, value) = BackendMessageParser.ParameterStatus(parameterStatus);
        if (name != "in_hot_standby" || (value == "on") != context.ExpectPrimary)
        {
            return false;
        }
        context.Evidence.RecoveryStateSeen(context.Cluster, context.Member, context.LeaderRevision, inRecovery: value == "on");
        return true;
    }

    /// <summary>Forwards the authentication exchange; stops in front of AuthenticationOk.</summary>
    private SequencePosition ScanAuthenticating(in ReadOnlySequence<byte> buffer, out bool malformed)
    {
        malformed = false;
        var reader = new SequenceReader<byte>(buffer);
        if (!_serverFrames.SkipPending(ref reader))
        {
            return reader.Position;
        }
        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            if (header.Length < 4)
            {
                malformed = true;
                break;
            }
            if (header.Type is BackendMessage.Authentication or BackendMessage.ErrorResponse)
            {
                if (header.Type == BackendMessage.Authentication && header.Length < 8)
                {
                    malformed = true;
                    break;
                }
                if (reader.Remaining < header.FrameSize)
                {
                    break;
                }
                var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
                if (header.Type == BackendMessage.ErrorResponse)
                {
                    // A refused login (28P01, 28000 from pg_hba) is FATAL and reaches the client as it is.
                    BackendMessageParser.ErrorResponse(frame, out _serverSaidFatal);
                }
                else if (BackendMessageParser.AuthenticationCode(frame) == AuthenticationCode.Ok)
                {
                    _phase = ServerPhase.Holding;
                    break;
                }
            }
            if (!_serverFrames.Pass(ref reader, header))
            {
                break;
            }
        }
        return reader.Position;
    }

    /// <summary>
    /// Waits for the whole post-login burst (AuthenticationOk … ReadyForQuery), then checks the
    /// server's role and replaces its BackendKeyData with the client's own key.
    /// </summary>
    private SequencePosition ScanHeld(in ReadOnlySequence<byte> buffer, out bool malformed, out byte[]? replacement)
    {
        malformed = false;
        replacement = null;
        var reader = new SequenceReader<byte>(buffer);
        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            if (header.Length < 4)
            {
                malformed = true;
                return buffer.Start;
            }
            if (header.Type == BackendMessage.ErrorResponse)
            {
                // A login that fails after authentication (no such database): pass it on as it is.
                _phase = ServerPhase.Relaying;
                return buffer.Start;
            }
            if (reader.Remaining < header.FrameSize)
            {
                break;
            }
            reader.Advance(header.FrameSize);
            if (header.Type == BackendMessage.ReadyForQuery)
            {
                var burst = buffer.Slice(buffer.Start, reader.Position);
                replacement = CompleteLogin(burst);
                _phase = ServerPhase.Relaying;
                return reader.Position;
            }
        }
        return buffer.Start;
    }

    private byte[] CompleteLogin(in ReadOnlySequence<byte> burst)
    {
        var output = new ArrayBufferWriter<byte>((int)burst.Length);
        var reader = new SequenceReader<byte>(burst);
        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
            switch (header.Type)
            {
                case BackendMessage.BackendKeyData when header.Length == 12:
                    var serverKey = BackendMessageParser.BackendKeyData(frame);
                    context.Cancel.Server = new ServerCancelTarget(server.Cluster, server.Member, server.Host, server.Port, serverKey);
                    output.Write(BackendMessages.BackendKeyData(context.Cancel.ClientKey));
                    break;
                case BackendMessage.ParameterStatus:
                    if (ReportRoleContradiction(frame) && context.ExpectPrimary)
                    {
                        _refusal = new PgError(
                            SqlState.CannotConnectNow,
                            $"member {context.Member} of cluster {context.Cluster} is in recovery and cannot take writes",
                            "PgRouter chose it as the primary; it receives no writes until it is seen out of recovery.",
                            "Retry: the next connection goes to the current primary.");
                    }
                    Copy(frame, output);
                    break;
                case BackendMessage.ReadyForQuery:
                    TransactionStatus = BackendMessageParser.ReadyForQueryStatus(frame);
                    Copy(frame, output);
                    break;
                default:
                    Copy(frame, output);
                    break;
            }
            reader.Advance(header.FrameSize);
        }
        return output.WrittenSpan.ToArray();
    }

    private static void Copy(in ReadOnlySequence<byte> frame, ArrayBufferWriter<byte> output)
    {
        foreach (var segment in frame)
        {
            output.Write(segment.Span);
        }
    }
}
