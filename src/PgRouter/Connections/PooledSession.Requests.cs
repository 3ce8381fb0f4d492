using System.Buffers;
using PgRouter.Pooling;
using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>The client's requests, translated for the server the session has now.</summary>
internal sealed partial class PooledSession
{
    /// <summary>A statement that never exists: closing it answers CloseComplete and changes nothing; binding it fails.</summary>
    private const string NoStatement = "pgr_none";

    /// <summary>What a DEALLOCATE of a client's protocol-level statement becomes: the same answer, and the shared statement stays.</summary>
    private const string DeallocateNothing = "PREPARE pgr_deallocate AS SELECT; DEALLOCATE pgr_deallocate";

    /// <summary>
    /// Interprets the complete client messages in the buffer (CopyData may stream) for the attached
    /// server: renames statements, adds what the server lacks, notes each expected answer. Stops before
    /// a Bind whose statement's result shape the server must confirm first, and returns the wait.
    /// </summary>
    private (SequencePosition Consumed, Task? ShapeWait) Translate(in ReadOnlySequence<byte> buffer, PooledServer server)
    {
        var reader = new SequenceReader<byte>(buffer);
        _toServer.Begin(buffer);
        PrepareServer(buffer.Start, server);
        if (!_clientFrames.SkipPending(ref reader))
        {
            _toServer.End(reader.Position);
            return (reader.Position, null);
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
            var end = buffer.GetPosition(header.FrameSize, start);
            if (!TranslateMessage(header.Type, frame, start, end, server))
            {
                _toServer.End(start);
                _shapeWait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return (start, _shapeWait.Task);
            }
            reader.Advance(header.FrameSize);
        }
        _toServer.End(reader.Position);
        return (reader.Position, null);
    }

    /// <summary>Before the client's first request on this server: its settings, and Close for statements known stale.</summary>
    private void PrepareServer(SequencePosition at, PooledServer server)
    {
        if (server.Settings != settings.Fingerprint)
        {
            // This server was set up for someone else: RESET ALL and this client's settings first.
            var setup = _toServer.Insert(at);
            setup.Begin(FrontendMessage.Query);
            setup.WriteCString(settings.SetupSql.Length == 0 ? SessionSettings.ResetSql : settings.SetupSql);
            setup.End();
            _expected.Add(new Expectation(Expected.Setup));
            server.Settings = settings.Fingerprint;
        }
        if (server.StaleStatements.Count > 0)
        {
            var output = _toServer.Insert(at);
            foreach (string name in server.StaleStatements)
            {
                ExtendedMessages.WriteTarget(output, FrontendMessage.Close, (byte)'S', name);
                _expected.Add(new Expectation(Expected.InjectedClose, Closed: name));
            }
            server.StaleStatements.Clear();
        }
    }

    /// <summary>False when translation must stop before this message until the server has answered what was sent.</summary>
    private bool TranslateMessage(byte type, in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        switch (type)
        {
            case FrontendMessage.Query:
                TranslateQuery(BackendMessageParser.Body(frame), start, end);
                break;
            case FrontendMessage.Sync:
                Expect(Expected.Sync, batchOpen: false);
                _serverSkipping = false;
                break;
            case FrontendMessage.FunctionCall:
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
                return TranslateBind(frame, start, end, server);
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
        return true;
    }

    private void TranslateQuery(ReadOnlySpan<byte> body, SequencePosition start, SequencePosition end)
    {
        int terminator = body.IndexOf((byte)0);
        var text = terminator >= 0 ? body[..terminator] : body;
        // A simple query destroys the unnamed statement.
        _unnamedOnServer = false;
        _statements.Remove([]);
        if (mode == PoolMode.Transaction && StatementClassifier.TryReadDeallocate(text, out string? name))
        {
            // DEALLOCATE ALL goes on as it is: its answer clears what server and client know. DEALLOCATE of a
            // protocol-level statement (psycopg 3 does this): the client forgets it, the server keeps the shared one.
            var bytes = name is null ? default : System.Text.Encoding.UTF8.GetBytes(name);
            if (name is not null && _statements.Find(bytes) is not null)
            {
                _statements.Remove(bytes);
                var output = _toServer.Replace(start, end);
                output.Begin(FrontendMessage.Query);
                output.WriteCString(DeallocateNothing);
                output.End();
                _expected.Add(new Expectation(Expected.InjectedCommand));
            }
            else if (name is not null)
            {
                Classify(text);
            }
        }
        else
        {
            Classify(text);
        }
        Expect(Expected.Sync, batchOpen: false);
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
            _expected.Add(new Expectation(Expected.Parse, _statements.Define(name, query, types)));
            _unnamedOnServer = true;
            return;
        }

        var output = _toServer.Replace(start, end);
        if (_statements.Define(name, query, types) is not { } statement)
        {
            // The client defined this name already: the server says so (42P05), reworded with the client's name.
            var existing = _statements.Find(name)!;
            Prepare(output, existing, server);
            ExtendedMessages.WriteParse(output, existing.ServerName, existing.Query, existing.ParameterTypes);
            _expected.Add(new Expectation(Expected.DuplicateParse, existing));
            return;
        }
        if (server.Statements.Remove(statement.ServerName))
        {
            // Parsed here before (by this client or another): parsed afresh, as the client asks, so it sees the schema of now.
            ExtendedMessages.WriteTarget(output, FrontendMessage.Close, (byte)'S', statement.ServerName);
            _expected.Add(new Expectation(Expected.InjectedClose, Closed: statement.ServerName));
        }
        ExtendedMessages.WriteParse(output, statement.ServerName, statement.Query, statement.ParameterTypes);
        _expected.Add(new Expectation(Expected.Parse, statement));
        DescribeShape(output, statement, server);
    }

    /// <summary>False when the statement's shape on this server must be known before the Bind may go (see <see cref="StatementShape"/>).</summary>
    private bool TranslateBind(in ReadOnlySequence<byte> frame, SequencePosition start, SequencePosition end, PooledServer server)
    {
        if (!ExtendedMessages.TryReadBind(BackendMessageParser.Body(frame), out var portal, out var name, out var rest)
            || _statements.Find(name) is not { } statement)
        {
            // Unknown to this client: the server answers 26000, as PostgreSQL would.
            _batchOpen = true;
            _expected.Add(new Expectation(Expected.Bind));
            return true;
        }
        if (name.IsEmpty)
        {
            _batchOpen = true;
            if (_unnamedOnServer)
            {
                _expected.Add(new Expectation(Expected.Bind));
                return true;
            }
            var unnamed = _toServer.Replace(start, end);
            Prepare(unnamed, statement, server);
            unnamed.WriteBytes(frame);
            _expected.Add(new Expectation(Expected.Bind));
            return true;
        }

        if (!statement.Stale && !_serverSkipping && statement.Shape != StatementShape.Unknown)
        {
            bool here = server.Statements.TryGetValue(statement.ServerName, out int shape);
            if (!here || shape == StatementShape.Unknown)
            {
                // Parsed on this server now (or just before, answer pending): its shape must match the client's before anything runs.
                var probe = _toServer.Insert(start);
                Prepare(probe, statement, server);
                probe.Begin(FrontendMessage.Flush);
                probe.End();
                _batchOpen = true;
                return false;
            }
            statement.Stale = shape != statement.Shape;
        }

        _batchOpen = true;
        var output = _toServer.Replace(start, end);
        if (statement.Stale)
        {
            ExtendedMessages.WriteBind(output, portal, NoStatement, rest);
            _expected.Add(new Expectation(Expected.StaleBind, statement));
            return true;
        }
        Prepare(output, statement, server);
        ExtendedMessages.WriteBind(output, portal, statement.ServerName, rest);
        _expected.Add(new Expectation(Expected.Bind, statement));
        return true;
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
        _expected.Add(new Expectation(Expected.DescribeStatement, statement));
    }

    /// <summary>Parses the statement on this server first when it lacks it; that ParseComplete is dropped, its shape learnt.</summary>
    private void Prepare(MessageWriter output, PreparedStatement statement, PooledServer server)
    {
        if (statement.ServerName.Length == 0)
        {
            if (!_unnamedOnServer)
            {
                ExtendedMessages.WriteParse(output, "", statement.Query, statement.ParameterTypes);
                _expected.Add(new Expectation(Expected.InjectedParse, statement));
                _unnamedOnServer = true;
            }
            return;
        }
        if (!server.Statements.ContainsKey(statement.ServerName))
        {
            ExtendedMessages.WriteParse(output, statement.ServerName, statement.Query, statement.ParameterTypes);
            _expected.Add(new Expectation(Expected.InjectedParse, statement));
            DescribeShape(output, statement, server);
        }
    }

    /// <summary>Asks the server what the statement just parsed returns; the answer is PgRouter's (<see cref="StatementShape"/>).</summary>
    private void DescribeShape(MessageWriter output, PreparedStatement statement, PooledServer server)
    {
        server.Statements[statement.ServerName] = StatementShape.Unknown;
        ExtendedMessages.WriteTarget(output, FrontendMessage.Describe, (byte)'S', statement.ServerName);
        _expected.Add(new Expectation(Expected.ShapeOf, statement));
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
                _server!.Settings = settings.Record(text) ? settings.Fingerprint : PooledServer.SettingsUnknown;
                break;
            case StatementKind.ResetAll:
                // The server is as logged in now; the client's startup parameters go back on before its next transaction.
                settings.ResetAll();
                _server!.Settings = 0;
                break;
            case StatementKind.Savepoint when settings.Savepoint(text):
                // PostgreSQL undid the SETs since the savepoint; whatever the server holds now, set it up afresh before reuse.
                _server!.Settings = PooledServer.SettingsUnknown;
                break;
            case StatementKind.SettingsUnknown:
                // set_config(…, false) and the like: not replayed, but never left for the next client either.
                _server!.Settings = PooledServer.SettingsUnknown;
                break;
            case StatementKind.PinsSession when _pinned is null:
                _pinned = reason;
                _server!.Tainted |= reason == "LOAD";
                LogPinned(client.Address, route.Cluster, reason!);
                break;
        }
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
            || !parsed.TryGetShape(route.Cluster, route.Database, route.Credentials.User, settings.Fingerprint, ClientStatements.ServerName(query, types), out int shape))
        {
            return false;
        }
        _statements.Define(name, query, types, shape);
        reader.Advance(sync.FrameSize);
        consumed = reader.Position;
        _reply.Clear();
        _reply.Begin(BackendMessage.ParseComplete);
        _reply.End();
        _reply.WriteBytes(BackendMessages.ReadyForQuery(TransactionStatus.Idle));
        return true;
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
}
