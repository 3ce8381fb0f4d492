using System.Buffers;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Routing;

public class ClientRequestTests
{
    private static readonly DatabaseMap Databases = new(new Dictionary<string, DatabaseEntry>
    {
        ["app_ro"] = new("demo", "app", RouteTarget.Replica),
        ["*"] = new("demo", null, null),
    });

    private static StartupPacket Packet(int version = 196608, params (string Name, string Value)[] parameters)
    {
        byte[] bytes = Messages.StartupMessage(parameters);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), version);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        StartupPacket.TryRead(ref reader, out var packet, out _);
        return packet!;
    }

    private static ClientRequest? Interpret(out PgError? error, params (string Name, string Value)[] parameters) =>
        ClientRequest.Interpret(Packet(parameters: parameters), Databases, RouteTarget.Primary, out error);

    private static string Value(StartupParameters parameters, string name) => parameters[name]!;

    [Fact]
    public void Interpret_PlainLogin_KeepsEverythingAndTakesTheListenerTarget()
    {
        var request = Interpret(out _, ("user", "app"), ("database", "shop"), ("application_name", "psql"))!;

        Assert.Equal(("app", "shop", RouteTarget.Primary), (request.User, request.Database, request.Target));
        Assert.Equal(new DatabaseRoute("demo", "shop", null), request.Route);
        Assert.Equal("psql", Value(request.ServerParameters, "application_name"));
        Assert.False(request.NeedsNegotiation);
    }

    [Fact]
    public void Interpret_NoDatabase_UsesTheUserName()
    {
        Assert.Equal("app", Interpret(out _, ("user", "app"))!.Database);
    }

    [Fact]
    public void Interpret_MappedDatabase_SendsTheRealNameAndItsTarget()
    {
        var request = Interpret(out _, ("user", "app"), ("database", "app_ro"))!;

        Assert.Equal(RouteTarget.Replica, request.Target);
        Assert.Equal("app", Value(request.ServerParameters, "database"));
    }

    [Fact]
    public void Interpret_TargetOption_BeatsTheDatabaseEntryAndIsStripped()
    {
        var request = Interpret(out _, ("user", "app"), ("database", "app_ro"), ("options", "-c pgrouter.target=primary -c work_mem=64MB"))!;

        Assert.Equal(RouteTarget.Primary, request.Target);
        Assert.Equal("-c work_mem=64MB", Value(request.ServerParameters, "options"));
    }

    [Fact]
    public void Interpret_OnlyPgRouterOptions_RemovesTheParameter()
    {
        var request = Interpret(out _, ("user", "app"), ("options", "-c pgrouter.target=any"))!;

        Assert.Equal(RouteTarget.Any, request.Target);
        Assert.Null(request.ServerParameters["options"]);
    }

    [Fact]
    public void Interpret_ProtocolOptionsAndNewerMinor_AreRemovedAndNegotiated()
    {
        var request = ClientRequest.Interpret(Packet((3 << 16) | 2, ("user", "app"), ("_pq_.compression", "on")), Databases, RouteTarget.Primary, out _)!;

        Assert.True(request.NeedsNegotiation);
        Assert.Equal(["_pq_.compression"], request.ProtocolOptions);
        Assert.Null(request.ServerParameters["_pq_.compression"]);
    }

    [Theory]
    [InlineData("28000", "database", "app")]
    [InlineData("0A000", "replication", "database")]
    [InlineData("42704", "options", "-c pgrouter.tagret=replica")]
    [InlineData("22023", "options", "-c pgrouter.target=leader")]
    public void Interpret_Refusals_CarryPostgreSqlCodes(string sqlState, string name, string value)
    {
        var parameters = name == "database" ? new[] { (name, value) } : [("user", "app"), (name, value)];

        Assert.Null(Interpret(out var error, parameters));
        Assert.Equal(sqlState, error!.SqlState);
    }

    [Fact]
    public void Interpret_UnknownDatabaseWithoutWildcard_Is3D000()
    {
        var map = new DatabaseMap(new Dictionary<string, DatabaseEntry> { ["app"] = new("demo", null, null) });

        Assert.Null(ClientRequest.Interpret(Packet(parameters: [("user", "app"), ("database", "other")]), map, RouteTarget.Primary, out var error));
        Assert.Equal("3D000", error!.SqlState);
    }

    [Fact]
    public void Interpret_NonUtf8ParameterValue_IsForwardedByteForByte()
    {
        byte[] latin1 = [0x63, 0x61, 0x66, 0xE9];
        byte[] bytes = Messages.Startup(196608, Messages.CString("user"), Messages.CString("app"), Encoding.ASCII.GetBytes("application_name"), [0], latin1, [0], [0]);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        StartupPacket.TryRead(ref reader, out var packet, out _);

        var request = ClientRequest.Interpret(packet!, Databases, RouteTarget.Primary, out _)!;

        Assert.Equal(latin1, request.ServerParameters.Items.Single(p => p.Key == "application_name").Value);
    }
}
