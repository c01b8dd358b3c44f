package bench

// Measurements returns the table's measurements, in table order. A
// feature puts its rows in the table by adding its Measurement here, with
// the rows' names and aims, and README's table gains the rows (a test
// holds README to this list).
//
// Planned: after the callback crypto, the callback handler end to end
// with the event log ÷ crypto only (issue 11); after the directory rows,
// notify's DingTalk calls ÷ the minimum for 1, 100, 5 000 and 20 000
// recipients (issue 12).
func Measurements() []Measurement {
	return []Measurement{
		cryptoMeasurement(),
		tokenMeasurement(),
		directoryWalkMeasurement(),
		directoryRSSMeasurement(),
		functionsMeasurement(),
	}
}
