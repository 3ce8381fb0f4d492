using System.Text;
using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class ClientStatementsTests
{
    private static readonly byte[] NoTypes = [0, 0];
    private static readonly byte[] OneInt4 = [0, 1, 0, 0, 0, 23];

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Define_Named_KeepsTheStatementUnderTheClientName()
    {
        var statements = new ClientStatements();

        var statement = statements.Define(Bytes("s1"), Bytes("SELECT $1"), OneInt4, shape: 7);

        Assert.NotNull(statement);
        Assert.Equal("s1", statement.ClientName);
        Assert.Equal("SELECT $1", Encoding.UTF8.GetString(statement.Query));
        Assert.Equal(OneInt4, statement.ParameterTypes);
        Assert.Equal(7, statement.Shape);
        Assert.False(statement.Stale);
        Assert.Same(statement, statements.Find(Bytes("s1")));
        Assert.Equal(1, statements.Count);
    }

    [Fact]
    public void Define_ANameTheClientHas_IsRefused_AndTheFirstStays()
    {
        var statements = new ClientStatements();
        var first = statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes);

        Assert.Null(statements.Define(Bytes("s1"), Bytes("SELECT 2"), NoTypes));

        Assert.Same(first, statements.Find(Bytes("s1")));
        Assert.Equal(1, statements.Count);
    }

    [Fact]
    public void Define_Unnamed_ReplacesTheLastUnnamed_AndIsNotCounted()
    {
        var statements = new ClientStatements();
        var first = statements.Define([], Bytes("SELECT 1"), NoTypes);
        var second = statements.Define([], Bytes("SELECT 2"), NoTypes);

        Assert.NotNull(first);
        Assert.Same(second, statements.Unnamed);
        Assert.Same(second, statements.Find([]));
        Assert.Equal("", second!.ClientName);
        Assert.Equal("", second.ServerName);
        Assert.Equal(0, statements.Count);
    }

    [Fact]
    public void ServerName_IsPgrAnd32LowerHexDigits_StableForTheSameQueryAndTypes()
    {
        string name = ClientStatements.ServerName(Bytes("SELECT $1"), OneInt4);

        Assert.Matches("^pgr_[0-9a-f]{32}$", name);
        Assert.Equal(name, ClientStatements.ServerName(Bytes("SELECT $1"), OneInt4));
        Assert.Equal(name, new ClientStatements().Define(Bytes("mine"), Bytes("SELECT $1"), OneInt4)!.ServerName);
        Assert.Equal(name, new ClientStatements().Define(Bytes("theirs"), Bytes("SELECT $1"), OneInt4)!.ServerName);
    }

    [Theory]
    [InlineData("SELECT $1", "SELECT  $1")]
    [InlineData("SELECT 1", "select 1")]
    public void ServerName_DiffersForOtherQueries(string a, string b)
    {
        Assert.NotEqual(ClientStatements.ServerName(Bytes(a), NoTypes), ClientStatements.ServerName(Bytes(b), NoTypes));
    }

    [Fact]
    public void ServerName_DiffersForOtherParameterTypes_AndWhereQueryEndsAndTypesBegin()
    {
        Assert.NotEqual(ClientStatements.ServerName(Bytes("SELECT $1"), NoTypes), ClientStatements.ServerName(Bytes("SELECT $1"), OneInt4));
        Assert.NotEqual(ClientStatements.ServerName(Bytes("ab"), [1]), ClientStatements.ServerName(Bytes("a"), [(byte)'b', 1]));
    }

    [Fact]
    public void Find_UnknownName_IsNull()
    {
        var statements = new ClientStatements();
        statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes);

        Assert.Null(statements.Find(Bytes("s2")));
        Assert.Null(statements.Find(Bytes("S1")));
        Assert.Null(statements.Find([]));
    }

    [Theory]
    [InlineData("é_statement")]
    [InlineData("名前")]
    public void Find_NonAsciiName_FindsIt(string name)
    {
        var statements = new ClientStatements();
        var statement = statements.Define(Bytes(name), Bytes("SELECT 1"), NoTypes);

        Assert.Same(statement, statements.Find(Bytes(name)));
    }

    [Fact]
    public void Find_NameLongerThan256Bytes_FindsIt()
    {
        var statements = new ClientStatements();
        byte[] name = Bytes(new string('s', 300));
        var statement = statements.Define(name, Bytes("SELECT 1"), NoTypes);

        Assert.Same(statement, statements.Find(name));
        Assert.Null(statements.Find(name[..299]));
    }

    [Fact]
    public void Remove_ForgetsTheNamedOrTheUnnamedStatement()
    {
        var statements = new ClientStatements();
        statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes);
        var kept = statements.Define(Bytes("s2"), Bytes("SELECT 2"), NoTypes);
        statements.Define([], Bytes("SELECT 3"), NoTypes);

        statements.Remove(Bytes("s1"));
        statements.Remove([]);
        statements.Remove(Bytes("never-defined"));

        Assert.Null(statements.Find(Bytes("s1")));
        Assert.Null(statements.Unnamed);
        Assert.Same(kept, statements.Find(Bytes("s2")));
        Assert.Equal(1, statements.Count);
        Assert.NotNull(statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes));
    }

    [Fact]
    public void Forget_RemovesTheStatementWhoseParseFailed()
    {
        var statements = new ClientStatements();
        var named = statements.Define(Bytes("s1"), Bytes("SELEC 1"), NoTypes)!;
        var unnamed = statements.Define([], Bytes("SELEC 2"), NoTypes)!;

        statements.Forget(named);
        statements.Forget(unnamed);

        Assert.Null(statements.Find(Bytes("s1")));
        Assert.Null(statements.Unnamed);
        Assert.Equal(0, statements.Count);
    }

    [Fact]
    public void Forget_OfAnOlderStatement_KeepsTheOneDefinedSinceUnderThatName()
    {
        var statements = new ClientStatements();
        var old = statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes)!;
        statements.Remove(Bytes("s1"));
        var current = statements.Define(Bytes("s1"), Bytes("SELECT 2"), NoTypes);
        var oldUnnamed = statements.Define([], Bytes("SELECT 3"), NoTypes)!;
        var currentUnnamed = statements.Define([], Bytes("SELECT 4"), NoTypes);

        statements.Forget(old);
        statements.Forget(oldUnnamed);

        Assert.Same(current, statements.Find(Bytes("s1")));
        Assert.Same(currentUnnamed, statements.Unnamed);
    }

    [Fact]
    public void Clear_ForgetsEverything()
    {
        var statements = new ClientStatements();
        statements.Define(Bytes("s1"), Bytes("SELECT 1"), NoTypes);
        statements.Define(Bytes("s2"), Bytes("SELECT 2"), NoTypes);
        statements.Define([], Bytes("SELECT 3"), NoTypes);

        statements.Clear();

        Assert.Equal(0, statements.Count);
        Assert.Null(statements.Unnamed);
        Assert.Null(statements.Find(Bytes("s1")));
    }
}
