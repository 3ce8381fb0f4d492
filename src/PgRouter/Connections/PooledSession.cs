using System.Buffers;
using System.Text;
using PgRouter.Pooling;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// One client on pooled server connections. The client side (<see cref="RunAsync"/>) reads the
/// client's messages, borrows a server when a transaction starts, renames prepared statements
/// (every server knows a statement under a name of PgRouter's), and notes what answers to expect.
/// The server side (<see cref="OnServerDataAsync"/>, on the server connection's read loop)
/// forwards the answers, drops or reshapes those PgRouter caused, and gives the server back at a
/// transaction boundary. A lock, held only while bytes are interpreted, keeps the two in step.
/// </summary>
internal sealed partial class PooledSession(
    ClientConnection client,
    PoolRoute route,
    PoolMode mode,
    PoolSelector selector,
    ParsedStatements parsed,
    SessionSettings settings,
    CancelEntry cancel,
    MemberLoad load,
    int maxMessageBytes,
    CancellationToken stopping,
    ILogger logger) : IServerSession, IActiveSession
{
    /// <summary>A statement that never exists: closing it answers CloseComplete and changes nothing.</summary>
    private const string NoStatement = "pgr_none";

    /// <summary>How a session's state is cleared before its server serves another one.</summary>
    private static readonly byte[] DiscardAll = FrontendMessages.Query("DISCARD ALL");

    /// <summary>Messages PgRouter must see whole are buffered up to this size.</summary>
    private const int InspectLimit = 8 * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly ExpectationQueue _expected = new();
    private readonly ClientStatements _statements = new();
    private readonly OutgoingBytes _toServer = new();
    private readonly OutgoingBytes _toClient = new();
    private readonly MessageWriter _reply = new();
    private readonly SemaphoreSlim _clientWrites = new(1, 1);
    private PooledServer? _server;
    private MemberView? _member;
    private FrameWalker _clientFrames;
    private FrameWalker _serverFrames;
    private TransactionStatus _status = TransactionStatus.Idle;
    private bool _batchOpen;
    private bool _unnamedOnServer;
    private bool _ending;
    private string? _pinned;
    private PgError? _untold;
    private bool _skipToSync;
    private bool _sending;
    private PgError? _stopReason;

    public long Transactions { get; private set; }

    public long BytesFromClient { get; private set; }

    public long BytesFromServer { get; private set; }

    public TransactionStatus Status => _status;

    /// <summary>
    /// Logs the client in without a server of its own: AuthenticationOk, the pool's server parameters
    /// with the client's own values on top, PgRouter's key, ReadyForQuery. In session mode the server
    /// that answered stays with the client. Returns the error to refuse the client with, if any.
    /// </summary>
    public async Task<PgError?> LoginAsync(StartupParameters clientParameters)
    {
        var (acquired, member) = await selector.AcquireAsync(client.Address, route, stopping).ConfigureAwait(false);
        if (acquired.Server is not { } server)
        {
            return acquired.Error ?? new PgError(SqlState.CannotConnectNow, $"no server available in cluster {route.Cluster}");
        }

        var burst = new ArrayBufferWriter<byte>();
        burst.Write(BackendMessages.AuthenticationOk);
        foreach (var (name, value) in server.Parameters)
        {
            var own = clientParameters.Items.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            burst.Write(BackendMessages.ParameterStatus(name, own is null ? value : Encoding.UTF8.GetString(own)));
        }
        burst.Write(BackendMessages.BackendKeyData(cancel.ClientKey));
        burst.Write(BackendMessages.ReadyForQuery(TransactionStatus.Idle));

        if (mode == PoolMode.Session)
        {
            lock (_lock)
            {
                Attach(server, member!);
            }
        }
        else
        {
            server.Pool.Return(server);
        }
        return await client.SendAsync(burst.WrittenMemory).ConfigureAwait(false) ? null : new PgError(SqlState.ConnectionFailure, "the client went away");
    }

    /// <summary>The client side, until the client leaves.</summary>
    public async Task<RelayEnd> RunAsync()
    {
        var input = client.Input;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled && StopReasonAtBoundary() is { } stop)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                await EndAsync(stop).ConfigureAwait(false);
                return RelayEnd.Terminated;
            }
            byte first = Inspect(buffer, out var violation);
            if (violation is not null)
            {
                input.AdvanceTo(buffer.End);
                await EndAsync(violation).ConfigureAwait(false);
                return RelayEnd.ClientProtocolViolation;
            }
            if (first == FrontendMessage.Terminate || (first == 0 && result.IsCompleted))
            {
                input.AdvanceTo(buffer.End);
                await EndAsync(null).ConfigureAwait(false);
                return first == FrontendMessage.Terminate ? RelayEnd.ClientTerminated : RelayEnd.ClientClosed;
            }
            if (first == 0)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            Turn turn;
            while (!TryTakeTurn(buffer, out turn))
            {
                await BorrowAsync().ConfigureAwait(false);
            }
            if (!turn.Reply.IsEmpty && !await ReplyAsync(turn.Reply).ConfigureAwait(false))
            {
                input.AdvanceTo(turn.Consumed);
                await EndAsync(null).ConfigureAwait(false);
                return RelayEnd.ClientClosed;
            }
            if (turn.Server is null && _stopReason is { } stopped)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                await EndAsync(stopped).ConfigureAwait(false);
                return RelayEnd.Terminated;
            }
            if ((turn.Tell is not null || turn.Ready) && !await TellClientAsync(turn.Tell, turn.Ready).ConfigureAwait(false))
            {
                input.AdvanceTo(turn.Consumed);
                await EndAsync(null).ConfigureAwait(false);
                return RelayEnd.ClientClosed;
            }
            if (turn.Server is { } server)
            {
                await SendToServerAsync(server, turn.Consumed).ConfigureAwait(false);
                Sent(server);
            }
            input.AdvanceTo(turn.Consumed, buffer.End);
        }
    }

    /// <summary>What the client side does with the bytes read: send them (translated) to a server, or skip them and tell the client.</summary>
    private readonly record struct Turn(SequencePosition Consumed, PooledServer? Server, PgError? Tell, bool Ready, ReadOnlyMemory<byte> Reply = default);

    /// <summary>
    /// Interprets the buffer for the attached server (marking a send under way, so the server is not
    /// given back before the bytes are out), or skips it when there is no server to be had. False
    /// when a server must be borrowed first.
    /// </summary>
    private bool TryTakeTurn(in ReadOnlySequence<byte> buffer, out Turn turn)
    {
        lock (_lock)
        {
            if (_skipToSync || (_server is null && _stopReason is not null))
            {
                var (consumed, tell, ready) = Skip(buffer);
                turn = new Turn(consumed, null, tell, ready);
                return true;
            }
            if (_server is null && TryAnswerLocally(buffer, out var answered))
            {
                turn = new Turn(answered, null, null, false, _reply.Written);
                return true;
            }
            if (_server is { } server)
            {
                var (consumed, tell, ready) = Translate(buffer, server);
                _sending = true;
                turn = new Turn(consumed, server, tell, ready);
                return true;
            }
        }
        turn = default;
        return false;
    }

    /// <summary>
    /// A lone Parse and Sync (libpq's PQprepare) of a statement known to parse, between transactions:
    /// answered ParseComplete and ReadyForQuery without a server. See <see cref="ParsedStatements"/>.
    /// </summary>
    private bool TryAnswerLocally(in ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        var reader = new SequenceReader<byte>(buffer);
        if (!FrameHeader.TryPeek(ref reader, out var parse) || parse.Type != FrontendMessage.Parse || reader.Remaining < parse.FrameSize + 5)
        {
            return false;
        }
        var frame = reader.UnreadSequence.Slice(0, parse.FrameSize);
        reader.Advance(parse.FrameSize);
        if (!FrameHeader.TryPeek(ref reader, out var sync) || sync.Type != FrontendMessage.Sync || sync.Length != 4
            || !ExtendedMessages.TryReadParse(BackendMessageParser.Body(frame), out var name, out var query, out var types)
            || name.IsEmpty || _statements.Find(name) is not null
            || !parsed.Contains(route.Cluster, route.Database, route.Credentials.User, settings.Fingerprint, ClientStatements.ServerName(query, types)))
        {
            return false;
        }
        _statements.Define(name, query, types);
        reader.Advance(sync.FrameSize);
        consumed = reader.Position;
        _reply.Clear();
        _reply.Begin((byte)'1');
        _reply.End();
        _reply.WriteBytes(BackendMessages.ReadyForQuery(TransactionStatus.Idle));
        return true;
    }

    /// <summary>The client side's bytes are out: if the server's answer already came, the server goes back now.</summary>
    private void Sent(PooledServer server)
    {
        lock (_lock)
        {
            _sending = false;
        }
        TryRelease(server);
    }

    /// <summary>
    /// Gives the server back at a transaction boundary: every answer in, no batch open, idle, nothing
    /// being sent to it, and the session either over or in transaction mode without a pin.
    /// </summary>
    private void TryRelease(PooledServer server)
    {
        PooledServer? released = null;
        bool stop;
        lock (_lock)
        {
            bool boundary = _server == server && AtBoundary();
            if (boundary && (_ending || (mode == PoolMode.Transaction && _pinned is null)))
            {
                released = Detach();
            }
            stop = boundary && _stopReason is not null && !_ending;
        }
        released?.Pool.Return(released);
        if (stop)
        {
            client.Input.CancelPendingRead();
        }
    }

    private bool AtBoundary() => !_sending && _expected.IsEmpty && !_batchOpen && _status == TransactionStatus.Idle;

    /// <summary>Why the session must end, when it is at a point where it can (no transaction open).</summary>
    private PgError? StopReasonAtBoundary()
    {
        lock (_lock)
        {
            return _stopReason is not null && (_server is null || AtBoundary()) ? _stopReason : null;
        }
    }

    /// <summary>
    /// PgRouter stops: a client between transactions is told (57P01) and let go at once, one inside a
    /// transaction when it ends or, at the latest, when the stop's grace period ends.
    /// </summary>
    public void Stop(PgError reason)
    {
        lock (_lock)
        {
            _stopReason = reason;
        }
        client.Input.CancelPendingRead();
    }

    /// <summary>The first message's type when it can be handled now; 0 when more bytes are needed.</summary>
    private byte Inspect(in ReadOnlySequence<byte> buffer, out PgError? violation)
    {
        violation = null;
        if (_clientFrames.InsideFrame)
        {
            return FrontendMessage.CopyData;
        }
        var reader = new SequenceReader<byte>(buffer);
        if (!FrameHeader.TryPeek(ref reader, out var header))
        {
            return 0;
        }
        int maxLength = FrontendMessageRules.MaxLength(header.Type, maxMessageBytes);
        if (maxLength == 0)
        {
            violation = new PgError(SqlState.ProtocolViolation, $"invalid frontend message type {header.Type}");
            return 0;
        }
        if (header.Length < 4 || header.Length > maxLength)
        {
            violation = new PgError(SqlState.ProtocolViolation, $"invalid message length {header.Length} for message type '{(char)header.Type}'");
            return 0;
        }
        if (header.Type != FrontendMessage.CopyData && header.Length > InspectLimit)
        {
            violation = new PgError("54000", $"a message of {header.Length} bytes is too large for a pooled session",
                Hint: "Connect to a passthrough database or listener for such messages.");
            return 0;
        }
        return header.Type == FrontendMessage.CopyData || reader.Remaining >= header.FrameSize ? header.Type : (byte)0;
    }

    /// <summary>Borrows a server for the transaction about to start; without one, the client's requests up to Sync get the error.</summary>
    private async Task BorrowAsync()
    {
        var (acquired, member) = await selector.AcquireAsync(client.Address, route, stopping).ConfigureAwait(false);
        lock (_lock)
        {
            if (acquired.Server is { } server)
            {
                Attach(server, member!);
                return;
            }
            _untold = acquired.Error ?? new PgError(SqlState.CannotConnectNow, $"no server available in cluster {route.Cluster}");
            _skipToSync = true;
        }
        LogNoServer(client.Address, route.Cluster, _untold.ToString());
    }

    /// <summary>Lends the server to this session; settings that differ are applied before the client's first request.</summary>
    private void Attach(PooledServer server, MemberView member)
    {
        _server = server;
        _member = member;
        _unnamedOnServer = false;
        _status = TransactionStatus.Idle;
        _serverFrames = default;
        server.Lend(this);
        cancel.Server = server.BackendKey is { } key ? new ServerCancelTarget(route.Cluster, member.Name, server.Connection.Host, server.Connection.Port, key) : null;
        load.Attach(route.Cluster, member.Name);
        Transactions++;
    }

    /// <summary>Takes the server back from this session (under the lock); the caller returns it to its pool.</summary>
    private PooledServer Detach()
    {
        var server = _server!;
        server.TakeBack();
        _server = null;
        _expected.Clear();
        _batchOpen = false;
        cancel.Server = null;
        load.Detach(route.Cluster, _member!.Name);
        return server;
    }

    /// <summary>
    /// Interprets the complete client messages in the buffer (CopyData may stream) for the attached
    /// server: renames statements, adds what the server lacks, notes each expected answer.
    /// </summary>
    private (SequencePosition Consumed, PgError? Tell, bool Ready) Translate(in ReadOnlySequence<byte> buffer, PooledServer server)
    {
        var reader = new SequenceReader<byte>(buffer);
        _toServer.Begin(buffer);
        if (server.Settings != settings.Fingerprint)
        {
            // This server was set up for someone else: RESET ALL and this client's settings first.
            var setup = _toServer.Insert(buffer.Start);
            setup.Begin(FrontendMessage.Query);
            setup.WriteCString(settings.SetupSql.Length == 0 ? "RESET ALL" : settings.SetupSql);
            setup.End();
            _expected.Add(new Expectation(Expected.Setup));
            server.Settings = settings.Fingerprint;
        }
        if (!_clientFrames.SkipPending(ref reader))
        {
            _toServer.End(reader.Position);
            return (reader.Position, null, false);
        }

        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            if (header.Type == FrontendMessage.Terminate || FrontendMessageRules.MaxLength(header.Type, maxMessageBytes) == 0 || header.Length < 4)
            {
                break;
            }
            if (header.Type == FrontendMessage.CopyData)
            {
                if (!_clientFrames.Pass(ref reader, header))
                {
                    break;
                }
                continue;
            }
            if (reader.Remaining < header.FrameSize)
            {
                break;
            }
            var start = reader.Position;
            var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
            reader.Advance(header.FrameSize);
            TranslateMessage(header.Type, frame, start, reader.Position, server);
        }
        _toServer.End(reader.Position);
        return (reader.Position, null, false);
    }

    private void TranslateMessage(byte type, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        switch (type)
        {
            case FrontendMessage.Query:
                Classify(BackendMessageParser.Body(frame));
                // A simple query replaces the unnamed statement.
                _unnamedOnServer = false;
                Expect(Expected.Sync, batchOpen: false);
                break;
            case FrontendMessage.Sync or FrontendMessage.FunctionCall:
                Expect(Expected.Sync, batchOpen: false);
                break;
            case FrontendMessage.Execute:
                Expect(Expected.Execute, batchOpen: true);
                break;
            case FrontendMessage.Flush:
                _batchOpen = true;
                break;
            case FrontendMessage.Parse:
                TranslateParse(frame, start, end, server);
                break;
            case FrontendMessage.Bind:
                TranslateBind(frame, start, end, server);
                break;
            case FrontendMessage.Describe or FrontendMessage.Close:
                TranslateTarget(type, frame, start, end, server);
                break;
            case FrontendMessage.CopyDone or FrontendMessage.CopyFail:
                break;
            default:
                // Anything else after login (a stray password message): the server refuses it as PostgreSQL does.
                Expect(Expected.Sync, batchOpen: false);
                break;
        }
    }

    private void TranslateParse(in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        _batchOpen = true;
        if (!ExtendedMessages.TryReadParse(BackendMessageParser.Body(frame), out var name, out var query, out var types))
        {
            _expected.Add(new Expectation(Expected.Parse));
            return;
        }
        Classify(query);
        if (name.IsEmpty)
        {
            _statements.Define(name, query, types);
            _unnamedOnServer = true;
            _expected.Add(new Expectation(Expected.Parse));
            return;
        }

        var output = _toServer.Replace(start, end);
        if (_statements.Define(name, query, types) is not { } statement)
        {
            // The client defined this name already: the server says so (42P05), about PgRouter's name for it.
            var existing = _statements.Find(name)!;
            Prepare(output, existing, server);
            ExtendedMessages.WriteParse(output, existing.ServerName, existing.Query, existing.ParameterTypes);
            _expected.Add(new Expectation(Expected.Parse));
        }
        else if (server.Statements.Contains(statement.ServerName))
        {
            // Prepared on this server already (by this client or another): ParseComplete without parsing again.
            ExtendedMessages.WriteTarget(output, FrontendMessage.Close, (byte)'S', NoStatement);
            _expected.Add(new Expectation(Expected.FakeParse));
        }
        else
        {
            ExtendedMessages.WriteParse(output, statement.ServerName, statement.Query, statement.ParameterTypes);
            server.Statements.Add(statement.ServerName);
            _expected.Add(new Expectation(Expected.Parse, statement.ServerName));
        }
    }

    private void TranslateBind(in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        _batchOpen = true;
        if (!ExtendedMessages.TryReadBind(BackendMessageParser.Body(frame), out var portal, out var name, out var rest)
            || _statements.Find(name) is not { } statement)
        {
            // Unknown to this client: the server answers 26000, as PostgreSQL would.
            _expected.Add(new Expectation(Expected.Bind));
            return;
        }
        if (name.IsEmpty && _unnamedOnServer)
        {
            _expected.Add(new Expectation(Expected.Bind));
            return;
        }
        var output = _toServer.Replace(start, end);
        Prepare(output, statement, server);
        if (name.IsEmpty)
        {
            output.WriteBytes(frame);
        }
        else
        {
            ExtendedMessages.WriteBind(output, portal, statement.ServerName, rest);
        }
        _expected.Add(new Expectation(Expected.Bind));
    }

    private void TranslateTarget(byte type, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        _batchOpen = true;
        bool describe = type == FrontendMessage.Describe;
        if (!ExtendedMessages.TryReadTarget(BackendMessageParser.Body(frame), out byte kind, out var name) || kind == (byte)'P')
        {
            _expected.Add(new Expectation(describe ? Expected.DescribePortal : Expected.Close));
            return;
        }

        var statement = _statements.Find(name);
        if (!describe)
        {
            // Statements are shared on the server: the client forgets its name, the server keeps the statement.
            _statements.Remove(name);
            if (name.IsEmpty)
            {
                _unnamedOnServer = false;
            }
            if (statement is not null && !name.IsEmpty)
            {
                ExtendedMessages.WriteTarget(_toServer.Replace(start, end), FrontendMessage.Close, (byte)'S', NoStatement);
            }
            _expected.Add(new Expectation(Expected.Close));
            return;
        }

        if (statement is null || (name.IsEmpty && _unnamedOnServer))
        {
            _expected.Add(new Expectation(Expected.DescribeStatement));
            return;
        }
        var output = _toServer.Replace(start, end);
        Prepare(output, statement, server);
        if (name.IsEmpty)
        {
            output.WriteBytes(frame);
        }
        else
        {
            ExtendedMessages.WriteTarget(output, FrontendMessage.Describe, (byte)'S', statement.ServerName);
        }
        _expected.Add(new Expectation(Expected.DescribeStatement));
    }

    /// <summary>Parses the statement on this server first when it lacks it; that ParseComplete is dropped.</summary>
    private void Prepare(MessageWriter output, PreparedStatement statement, PooledServer server)
    {
        bool missing = statement.ServerName.Length == 0 ? !_unnamedOnServer : server.Statements.Add(statement.ServerName);
        if (missing)
        {
            ExtendedMessages.WriteParse(output, statement.ServerName, statement.Query, statement.ParameterTypes);
            _expected.Add(new Expectation(Expected.InjectedParse, statement.ServerName.Length == 0 ? null : statement.ServerName));
            _unnamedOnServer |= statement.ServerName.Length == 0;
        }
    }

    private void Expect(Expected kind, bool batchOpen)
    {
        _expected.Add(new Expectation(kind));
        _batchOpen = batchOpen;
    }

    /// <summary>Session state: SET and RESET are recorded for the next servers; state only this server can keep pins the client to it.</summary>
    private void Classify(ReadOnlySpan<byte> text)
    {
        int end = text.IndexOf((byte)0);
        text = end >= 0 ? text[..end] : text;
        if (mode == PoolMode.Session)
        {
            return;
        }
        switch (StatementClassifier.Classify(text, out string? reason))
        {
            case StatementKind.SessionSetting:
                settings.Record(text);
                _server!.Settings = settings.Fingerprint;
                break;
            case StatementKind.ResetAll:
                settings.ResetAll();
                _server!.Settings = settings.Fingerprint;
                break;
            case StatementKind.PinsSession when _pinned is null:
                _pinned = reason;
                _server!.Tainted |= reason == "LOAD";
                LogPinned(client.Address, route.Cluster, reason!);
                break;
        }
    }

    /// <summary>
    /// No server for these requests (none could be had, or the transaction's server went away): they
    /// are skipped up to Sync, as PostgreSQL skips after an error; the client hears the error once,
    /// then ReadyForQuery at its Sync.
    /// </summary>
    private (SequencePosition Consumed, PgError? Tell, bool Ready) Skip(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        _clientFrames.SkipPending(ref reader);
        var tell = _untold;
        _untold = null;
        while (FrameHeader.TryPeek(ref reader, out var header) && header.Length >= 4 && header.Type != FrontendMessage.Terminate)
        {
            if (!_clientFrames.Pass(ref reader, header))
            {
                break;
            }
            if (header.Type is FrontendMessage.Sync or FrontendMessage.Query or FrontendMessage.FunctionCall)
            {
                _skipToSync = false;
                return (reader.Position, tell, true);
            }
        }
        return (reader.Position, tell, false);
    }

    private async ValueTask SendToServerAsync(PooledServer server, SequencePosition consumed)
    {
        bool sent;
        if (_toServer.IsCopy)
        {
            BytesFromClient += _toServer.Copy.Length;
            sent = await server.Connection.Transport.SendAsync(_toServer.Copy).ConfigureAwait(false);
        }
        else
        {
            var original = _toServer.Original(consumed);
            if (original.IsEmpty)
            {
                return;
            }
            BytesFromClient += original.Length;
            sent = await server.Connection.Transport.SendAsync(original).ConfigureAwait(false);
        }
        if (!sent)
        {
            // Its read loop notices the end and tells this session.
            server.Connection.Transport.Abort();
        }
    }

    /// <inheritdoc/>
    public async ValueTask<(SequencePosition Consumed, bool ExaminedAll)> OnServerDataAsync(PooledServer server, ReadOnlySequence<byte> buffer)
    {
        SequencePosition consumed;
        bool readyForQuery;
        bool ending;
        lock (_lock)
        {
            if (_server != server)
            {
                // Taken back between the read and now (the client left): nothing of it is the client's.
                return (buffer.End, true);
            }
            (consumed, readyForQuery) = FromServer(buffer, server);
            ending = _ending;
        }

        if (!ending)
        {
            var bytes = _toClient.IsCopy ? new ReadOnlySequence<byte>(_toClient.Copy) : _toClient.Original(consumed);
            BytesFromServer += bytes.Length;
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                if (!bytes.IsEmpty && !await client.Transport.SendAsync(bytes).ConfigureAwait(false))
                {
                    client.Transport.Abort();
                }
            }
            finally
            {
                _clientWrites.Release();
            }
        }

        if (readyForQuery)
        {
            // Decided after sending: a client that already sent more keeps its server.
            TryRelease(server);
        }
        return (consumed, !readyForQuery);
    }

    /// <summary>
    /// Reads the server's answers against what was expected: forwarded as they are, except answers to
    /// PgRouter's own requests (dropped) and the CloseComplete that stands for a ParseComplete.
    /// Stops after ReadyForQuery, where the server may go back to its pool.
    /// </summary>
    private (SequencePosition Consumed, bool ReadyForQuery) FromServer(in ReadOnlySequence<byte> buffer, PooledServer server)
    {
        var reader = new SequenceReader<byte>(buffer);
        _toClient.Begin(buffer);
        if (!_serverFrames.SkipPending(ref reader))
        {
            _toClient.End(reader.Position);
            return (reader.Position, false);
        }
        while (FrameHeader.TryPeek(ref reader, out var header) && header.Length >= 4)
        {
            // Rows and COPY data stream through without being read whole.
            if (header.Type is BackendMessage.DataRow or BackendMessage.CopyData && _expected.Peek().Kind != Expected.Setup)
            {
                if (!_serverFrames.Pass(ref reader, header))
                {
                    break;
                }
                continue;
            }
            if (reader.Remaining < header.FrameSize)
            {
                break;
            }
            var start = reader.Position;
            var frame = reader.UnreadSequence.Slice(0, header.FrameSize);
            reader.Advance(header.FrameSize);
            if (FromServerMessage(header.Type, frame, start, reader.Position, server))
            {
                _toClient.End(reader.Position);
                return (reader.Position, true);
            }
        }
        _toClient.End(reader.Position);
        return (reader.Position, false);
    }

    /// <summary>True after ReadyForQuery.</summary>
    private bool FromServerMessage(byte type, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        var head = _expected.Peek();
        bool setup = head.Kind == Expected.Setup;
        switch (type)
        {
            case BackendMessage.ReadyForQuery:
                // Everything the server skipped after an error ends here too.
                Expectation popped;
                do
                {
                    popped = _expected.Pop();
                }
                while (popped.Kind is not (Expected.Sync or Expected.Setup) && !_expected.IsEmpty);
                if (popped.Kind == Expected.Setup)
                {
                    // PgRouter's own query: not the client's ReadyForQuery, unless the session is over (DISCARD ALL).
                    _toClient.Drop(start, end);
                    return _ending && _expected.IsEmpty;
                }
                _status = BackendMessageParser.ReadyForQueryStatus(frame);
                return true;

            case BackendMessage.ParameterStatus:
                var (name, value) = BackendMessageParser.ParameterStatus(frame);
                server.RecordParameter(name, value);
                return false;

            case BackendMessage.ErrorResponse:
                if (setup)
                {
                    LogSetupFailed(client.Address, route.Cluster, BackendMessageParser.ErrorResponse(frame).ToString());
                    _toClient.Drop(start, end);
                }
                else if (head.Kind is Expected.Parse or Expected.InjectedParse && head.Statement is { } refused)
                {
                    // The server did not prepare it: it must be parsed again next time.
                    server.Statements.Remove(refused);
                }
                return false;

            case (byte)'1':
                var parsedOne = _expected.Pop();
                if (parsedOne.Statement is { } serverName)
                {
                    parsed.Add(route.Cluster, route.Database, route.Credentials.User, server.Settings, serverName);
                }
                if (parsedOne.Kind == Expected.InjectedParse)
                {
                    _toClient.Drop(start, end);
                }
                return false;

            case (byte)'3':
                if (_expected.Pop().Kind == Expected.FakeParse)
                {
                    var output = _toClient.Replace(start, end);
                    output.Begin((byte)'1');
                    output.End();
                }
                return false;

            case (byte)'2':
                _expected.Pop();
                return false;

            case (byte)'n' or BackendMessage.RowDescription when head.Kind is Expected.DescribeStatement or Expected.DescribePortal:
                _expected.Pop();
                return false;

            case BackendMessage.CommandComplete or (byte)'I' or (byte)'s' when head.Kind == Expected.Execute:
                _expected.Pop();
                return false;

            default:
                if (setup)
                {
                    _toClient.Drop(start, end);
                }
                return false;
        }
    }

    /// <inheritdoc/>
    public async ValueTask OnServerLostAsync(PooledServer server)
    {
        PgError error;
        bool fatal, now;
        lock (_lock)
        {
            if (_server != server)
            {
                return;
            }
            bool awaitingReady = !_expected.IsEmpty;
            bool midMessage = _serverFrames.InsideFrame;
            bool inTransaction = _status != TransactionStatus.Idle || _batchOpen;
            Detach();
            error = new PgError(SqlState.ConnectionFailure, "server closed the connection unexpectedly",
                $"Member {_member?.Name} of cluster {route.Cluster} went away{(server.Connection.Transport.Error is { } e ? $" ({e})" : "")}; the transaction is lost.",
                "Run the transaction again: the next one goes to a server that is up.");
            fatal = mode == PoolMode.Session || midMessage || _pinned is not null;
            if (_ending)
            {
                return;
            }
            now = fatal || awaitingReady;
            if (!now && inTransaction)
            {
                // The client is idle inside a transaction: it hears of the loss at its next request.
                _untold = error;
                _skipToSync = true;
            }
            if (now && !fatal && _batchOpen)
            {
                // Told now; ReadyForQuery follows at the client's Sync.
                _skipToSync = true;
            }
            _status = TransactionStatus.Idle;
        }
        LogServerLost(client.Address, route.Cluster, server.Connection.Member, fatal ? "closing the client" : "the client goes on");
        if (fatal)
        {
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                await client.SendFatalAsync(error).ConfigureAwait(false);
            }
            finally
            {
                _clientWrites.Release();
            }
        }
        else if (now)
        {
            await TellClientAsync(error, ready: !_skipToSync).ConfigureAwait(false);
        }
    }

    /// <summary>PgRouter's own answer to the client's requests; only when no server writes to the client.</summary>
    private async ValueTask<bool> ReplyAsync(ReadOnlyMemory<byte> reply)
    {
        await _clientWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            return await client.SendAsync(reply).ConfigureAwait(false);
        }
        finally
        {
            _clientWrites.Release();
        }
    }

    /// <summary>An ErrorResponse and/or ReadyForQuery from PgRouter itself; only when no server writes to the client.</summary>
    private async ValueTask<bool> TellClientAsync(PgError? error, bool ready)
    {
        await _clientWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            if (error is not null && !await client.SendAsync(BackendMessages.ErrorResponse(error, fatal: false)).ConfigureAwait(false))
            {
                return false;
            }
            return !ready || await client.SendAsync(BackendMessages.ReadyForQuery(TransactionStatus.Idle)).ConfigureAwait(false);
        }
        finally
        {
            _clientWrites.Release();
        }
    }

    /// <summary>
    /// The client leaves (or is sent away): a server between transactions goes back to its pool, after
    /// DISCARD ALL when the session could have left state on it; a server inside a transaction is closed.
    /// </summary>
    private async Task EndAsync(PgError? fatal)
    {
        PooledServer? server;
        bool clean, reset;
        lock (_lock)
        {
            _ending = true;
            server = _server;
            clean = server is not null && AtBoundary() && !server.Tainted;
            reset = clean && (mode == PoolMode.Session || _pinned is not null);
            if (reset)
            {
                _expected.Add(new Expectation(Expected.Setup));
                server!.Settings = 0;
                _sending = true;
            }
            else if (server is not null)
            {
                Detach();
            }
        }

        if (fatal is not null)
        {
            await _clientWrites.WaitAsync().ConfigureAwait(false);
            try
            {
                await client.SendFatalAsync(fatal).ConfigureAwait(false);
            }
            finally
            {
                _clientWrites.Release();
            }
        }

        if (server is null)
        {
            return;
        }
        if (reset)
        {
            // DISCARD ALL, its answers dropped; the server goes back when its ReadyForQuery comes.
            if (!await server.Connection.Transport.SendAsync(DiscardAll).ConfigureAwait(false))
            {
                server.Connection.Transport.Abort();
            }
            Sent(server);
        }
        else if (clean)
        {
            server.Pool.Return(server);
        }
        else
        {
            await server.CloseAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(320, LogLevel.Warning, "client {Client}: no server for the transaction in cluster {Cluster}: {Error}")]
    private partial void LogNoServer(string client, string cluster, string error);

    [LoggerMessage(321, LogLevel.Information, "client {Client}: keeps its server of cluster {Cluster} for the rest of the session ({Reason})")]
    private partial void LogPinned(string client, string cluster, string reason);

    [LoggerMessage(322, LogLevel.Warning, "client {Client}: its session settings failed on a server of cluster {Cluster}: {Error}")]
    private partial void LogSetupFailed(string client, string cluster, string error);

    [LoggerMessage(323, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} went away during its transaction, {What}")]
    private partial void LogServerLost(string client, string cluster, string member, string what);
}
