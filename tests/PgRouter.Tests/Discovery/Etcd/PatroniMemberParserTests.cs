using System.Text;
using PgRouter.Discovery.Etcd;
using Xunit;

namespace PgRouter.Tests.Discovery.Etcd;

public class PatroniMemberParserTests
{
    [Fact]
    public void Parse_Patroni302Leader()
    {
        var member = PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(
            """{"conn_url":"postgres://10.0.0.11:5432/postgres","api_url":"http://10.0.0.11:8008/patroni","state":"running","role":"master","version":"3.0.2","xlog_location":50331952,"timeline":1}"""))!;

        Assert.Equal("10.0.0.11", member.Host);
        Assert.Equal(5432, member.Port);
        Assert.Equal("master", member.Role);
        Assert.True(member.HasPrimaryRole);
        Assert.True(member.IsRunning);
        Assert.Equal(50331952, member.WalPosition);
        Assert.Equal(1, member.Timeline);
        Assert.Equal("http://10.0.0.11:8008/patroni", member.ApiUrl);
    }

    [Fact]
    public void Parse_ReplicaWithTags()
    {
        var member = PatroniMemberParser.Parse("pg2", Encoding.UTF8.GetBytes(
            """{"conn_url":"postgres://10.0.0.12:5433/postgres","api_url":"http://10.0.0.12:8008/patroni","state":"running","role":"replica","version":"3.0.2","tags":{"nofailover":true,"noloadbalance":true},"xlog_location":50331648,"timeline":1}"""))!;

        Assert.Equal(5433, member.Port);
        Assert.True(member.NoLoadBalance);
        Assert.True(member.NoFailover);
        Assert.False(member.HasPrimaryRole);
    }

    [Fact]
    public void Parse_DemotingMemberWithoutPosition()
    {
        var member = PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(
            """{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"stopping","role":"demoted","version":"3.0.2"}"""))!;

        Assert.Null(member.WalPosition);
        Assert.Null(member.Timeline);
        Assert.False(member.IsRunning);
    }

    [Fact]
    public void Parse_Patroni4PrimaryRole()
    {
        var member = PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(
            """{"conn_url":"postgres://db1:5432/postgres","state":"running","role":"primary","xlog_location":1}"""))!;

        Assert.True(member.HasPrimaryRole);
        Assert.Equal("db1", member.Host);
    }

    [Fact]
    public void Parse_Ipv6HostInBrackets()
    {
        var member = PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(
            """{"conn_url":"postgres://[2001:db8::11]:5432/postgres","state":"running","role":"master"}"""))!;

        Assert.Equal("2001:db8::11", member.Host);
        Assert.Equal(5432, member.Port);
    }

    [Fact]
    public void Parse_ConnKwargsWithoutUrl()
    {
        var member = PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(
            """{"conn_kwargs":{"host":"10.0.0.13","port":6543,"dbname":"postgres"},"state":"running","role":"replica"}"""))!;

        Assert.Equal("10.0.0.13", member.Host);
        Assert.Equal(6543, member.Port);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"state":"running","role":"replica"}""")]
    public void Parse_Unusable_ReturnsNull(string json)
    {
        Assert.Null(PatroniMemberParser.Parse("pg1", Encoding.UTF8.GetBytes(json)));
    }
}
