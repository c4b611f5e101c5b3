/*
 * The reference app from the Asterisk documentation's "Node.js ARI Client: Channel Events"
 * example (channel-state.js, on node-ari-client), which flows/channel-state.yaml reproduces.
 * Kept only for comparison in the load bench (bench/load.py --targets seed): verbatim except
 * that the ARI URL and credentials are read from ARI_URL, ARI_USERNAME and ARI_PASSWORD, with
 * the example's values as defaults. Not part of flowrunner; do not build on it.
 */
'use strict';
var ari = require('ari-client');
var util = require('util');
var timers = {};
ari.connect(
    process.env.ARI_URL || 'http://localhost:8088',
    process.env.ARI_USERNAME || 'asterisk',
    process.env.ARI_PASSWORD || 'asterisk',
    clientLoaded);
function clientLoaded(err, client) {
    if (err) { throw err; }
    function stasisStart(event, channel) {
        console.log(util.format('Channel %s has entered the application', channel.name));
        channel.ring(function(err) { if (err) throw err; });
        var timer = setTimeout(function() {
            console.log(util.format('Answering channel %s', channel.name));
            channel.answer(function(err) { if (err) throw err; });
            channel.startSilence(function(err) { if (err) throw err; });
            timers[channel.id] = setTimeout(function() {
                console.log(util.format('Hanging up channel %s', channel.name));
                channel.hangup(function(err) { if (err) throw err; });
            }, 4000);
        }, 2000);
        timers[channel.id] = timer;
    }
    function stasisEnd(event, channel) {
        console.log(util.format('Channel %s just left our application', channel.name));
        var timer = timers[channel.id];
        if (timer) { clearTimeout(timer); delete timers[channel.id]; }
    }
    function channelStateChange(event, channel) {
        console.log(util.format('Channel %s is now: %s', channel.name, channel.state));
    }
    client.on('StasisStart', stasisStart);
    client.on('StasisEnd', stasisEnd);
    client.on('ChannelStateChange', channelStateChange);
    client.start('channel-state');
}
